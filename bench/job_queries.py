"""What the job's queries cost that the engine asks several times per sub-step, in µs a call.

A job in the middle of its run (Step 6 started, claimed, some sub-steps completed) answers
each query REPEATS times in ROUNDS rounds; the median round is reported. The queries and the
transition check are the domain's public ones, so this same file measures any tree's: run from
the repository root, `python -m bench.job_queries [--base ../base]` measures this tree and,
given a base checkout, the base's domain, each in a process of its own, and saves
bench/results/job-queries-<time>.json. Not a test.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

ROUNDS, REPEATS = 7, 20_000


def mid_run_job() -> Any:
    """A job with three sub-steps completed: the shape most of an engine's asks see."""
    from domain.job import RegistrationJob

    job = RegistrationJob(uuid.uuid4(), "org-bench", {"name": "R"}, {}, "user:bench")
    job.start_step6("user:bench")
    job.claim("bench-worker")
    for _ in range(3):
        key = job.runnable()[0]
        job.start_sub_step(key)
        job.complete_sub_step(key, {"id": key})
    return job


def per_call_us(query: Callable[[], object]) -> float:
    rounds = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(REPEATS):
            query()
        rounds.append((time.process_time() - started) / REPEATS * 1e6)
    return statistics.median(rounds)


def measure() -> dict[str, float]:
    from domain.status import SUB_STEP_MACHINE, destination

    job = mid_run_job()
    queries: dict[str, Callable[[], object]] = {
        "runnable": job.runnable,
        "statuses": job.statuses,
        "shown_statuses": job.shown_statuses,
        "phase_statuses": job.phase_statuses,
        "all_settled": job.all_settled,
        "transition_check": lambda: destination(SUB_STEP_MACHINE, "complete", "in_progress"),
    }
    return {name: per_call_us(query) for name, query in queries.items()}


def main() -> None:
    if "--here" in sys.argv:  # in the tree measured, which may hold an older bench/kit.py
        print(json.dumps(measure()))
        return
    from bench.kit import compare_trees

    compare_trees(__file__, __doc__, "job-queries", "{:.2f} us")


if __name__ == "__main__":
    main()
