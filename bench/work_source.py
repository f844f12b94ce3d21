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

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
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


def in_tree(tree: Path) -> dict[str, float]:
    """This file's figures for the code of `tree`, in a process of its own."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--here"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
        env=os.environ | {"PYTHONPATH": str(tree)},
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, help="a base tree's checkout to compare with")
    parser.add_argument("--here", action="store_true", help="print this tree's figures only")
    args = parser.parse_args()
    if args.here:
        print(json.dumps(measure()))
        return
    trees = {"new": Path.cwd()} | ({"base": args.base.resolve()} if args.base else {})
    figures = {name: in_tree(tree) for name, tree in trees.items()}
    for name, values in figures.items():
        print(f"{name:5} " + "  ".join(f"{k}: {v:.1f} us" for k, v in values.items()))
    result: dict[str, Any] = {"limit": LIMIT, "figures": figures}
    if "base" in figures:
        result["new_over_base"] = {
            k: figures["new"][k] / figures["base"][k] for k in figures["new"]
        }
        print("new/base " + "  ".join(f"{k}: {v:.3f}" for k, v in result["new_over_base"].items()))
    from bench.kit import save

    save(f"work-source-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json", result)


if __name__ == "__main__":
    main()
