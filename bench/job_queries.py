"""What the job's queries cost that the engine asks several times per sub-step, in µs a call.

A job in the middle of its run (Step 6 started, claimed, some sub-steps completed) answers
each query REPEATS times in ROUNDS rounds; the median round is reported. The queries and the
transition check are the domain's public ones, so this same file measures any tree's: run from
the repository root, `python -m bench.job_queries [--base ../base]` measures this tree and,
given a base checkout, the base's domain, each in a process of its own, and saves
bench/results/job-queries-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
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
        print(f"{name:5} " + "  ".join(f"{k} {v:.2f} us" for k, v in values.items()))
    result: dict[str, Any] = {"figures": figures}
    if "base" in figures:
        result["new_over_base"] = {
            k: figures["new"][k] / figures["base"][k] for k in figures["new"]
        }
        print("new/base " + "  ".join(f"{k} {v:.2f}" for k, v in result["new_over_base"].items()))
    from bench.kit import save

    save(f"job-queries-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json", result)


if __name__ == "__main__":
    main()
