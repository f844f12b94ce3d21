"""What the engine's look for work costs with many jobs in progress, in µs a discovery.

A discovery follows every job's end: the work source folds the log's new notifications (one
job stopped, one started, so the jobs in progress stay at N) and hands out the engine's limit
of jobs (1,000 beyond those it runs), organisations taking turns. The log is a list in memory
behind the recorder's calls the source makes, so the figure is the source's own work, not the
database's. Cases: N jobs in 2 organisations, and N jobs each in an organisation of its own.

Run from the repository root, `python -m bench.work_source [--base ../base]` measures this
tree and, given a base checkout, the base's source, each in a process of its own, and saves
bench/results/work-source-<time>.json. Not a test.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from types import SimpleNamespace
from typing import Any

ROUNDS, DISCOVERIES, LIMIT = 5, 200, 1000 + 32
CASES = {  # name: (jobs in progress, organisations)
    "300 jobs, 2 orgs": (300, 2),
    "10000 jobs, 2 orgs": (10_000, 2),
    "10000 jobs, 10000 orgs": (10_000, 10_000),
}


class ListLog:
    """The recorder's two reads the work source makes, over a list of notifications."""

    def __init__(self) -> None:
        self.notifications: list[Any] = []

    def append(self, job_id: str, topic: str, organisation: str = "") -> None:
        from eventsourcing.persistence import Notification

        n = len(self.notifications) + 1
        self.notifications.append(Notification(job_id, 1, topic, organisation.encode(), n))

    def select_notifications(
        self, start: int, limit: int, topics: Any = (), inclusive_of_start: bool = True
    ) -> list[Any]:
        first = start - 1 if inclusive_of_start else start
        page = [n for n in self.notifications[max(first, 0) :] if n.topic in topics]
        return page[:limit]

    def select_events(self, originator_id: Any, lte: int = 1) -> list[Any]:
        return []


def source_over(log: ListLog) -> Any:
    from infrastructure.engine.work_source import LogWorkSource

    mapper = SimpleNamespace(
        to_domain_event=lambda n: SimpleNamespace(organisation_id=n.state.decode())
    )
    return LogWorkSource(SimpleNamespace(recorder=log, mapper=mapper))  # type: ignore[arg-type]


def per_discovery_us(jobs: int, organisations: int) -> float:
    from infrastructure.engine.work_source import CREATED, STARTS, STOPS

    log = ListLog()
    for n in range(jobs):
        log.append(f"job-{n}", CREATED, f"org-{n % organisations}")
        log.append(f"job-{n}", STARTS[0])
    source = source_over(log)
    assert len(source.runnable_job_ids(LIMIT)) == min(jobs, LIMIT)
    oldest, newest = 0, jobs
    rounds = []
    for _ in range(ROUNDS):
        spent = 0.0
        for _ in range(DISCOVERIES):
            log.append(f"job-{oldest}", STOPS[0])
            log.append(f"job-{newest}", CREATED, f"org-{newest % organisations}")
            log.append(f"job-{newest}", STARTS[0])
            oldest, newest = oldest + 1, newest + 1
            started = time.process_time()
            source.runnable_job_ids(LIMIT)
            spent += time.process_time() - started
        rounds.append(spent / DISCOVERIES * 1e6)
    return statistics.median(rounds)


def measure() -> dict[str, float]:
    return {name: per_discovery_us(*shape) for name, shape in CASES.items()}


def main() -> None:
    if "--here" in sys.argv:  # in the tree measured, which may hold an older bench/kit.py
        print(json.dumps(measure()))
        return
    from bench.kit import compare_trees

    compare_trees(__file__, __doc__, "work-source", "{:.1f} us", limit=LIMIT)


if __name__ == "__main__":
    main()
