"""Two trees' engines in one run, beside the raw psycopg floor and DBOS.

Each round runs the raw floor, DBOS, and the engine (PostgreSQL, in-process, uvloop) of the
base tree and of this one, each in a fresh process, in an order that alternates from round to
round; the medians are compared: new/base CPU per job (the process's, its event loop thread's
and its other threads': store, pools) and throughput, and each tree's jobs/s as a fraction of
the raw floor and against DBOS. A base tree whose bench does not split the CPU is compared on
the whole. The base is any checkout, e.g. one made with
`git worktree add ../base <commit>`. Run from the repository root:
`python -m bench.engine_ab --base ../base [--jobs N] [--rounds N]`. Saves
bench/results/engine-ab-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.engine import run_in_fresh_process
from bench.kit import save

ENGINE = "postgres-inprocess"
FIGURES = (
    "jobs_per_s",
    "cpu_ms_per_job",
    "loop_cpu_ms_per_job",
    "other_threads_cpu_ms_per_job",
    "critical_path_overhead_ms_per_step_p50",
)
COMPARED = ("jobs_per_s", "cpu_ms_per_job", "loop_cpu_ms_per_job", "other_threads_cpu_ms_per_job")


def commit_of(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, required=True, help="the base tree's checkout")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees: dict[str, Path | None] = {"base": args.base.resolve(), "new": None}
    cases = ["base", "new", "raw", "dbos"]
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in cases}
    for round_ in range(args.rounds):
        for case in cases if round_ % 2 == 0 else reversed(cases):
            if case in trees:
                figures = run_in_fresh_process(ENGINE, args.jobs, tree=trees[case])
            else:
                figures = run_in_fresh_process(case, args.jobs)
            runs[case].append(figures)
            shown = {k: round(figures[k], 3) for k in FIGURES if k in figures}
            print(f"round {round_ + 1} {case:5} {json.dumps(shown)}", flush=True)
    medians = {
        case: {k: statistics.median(r[k] for r in rs) for k in FIGURES if k in rs[0]}
        for case, rs in runs.items()
    }
    raw, dbos = medians["raw"]["jobs_per_s"], medians["dbos"]["jobs_per_s"]
    ratios: dict[str, dict[str, float]] = {
        tree: {
            "fraction_of_raw_floor": medians[tree]["jobs_per_s"] / raw,
            "x_dbos": medians[tree]["jobs_per_s"] / dbos,
        }
        for tree in trees
    }
    ratios["new_over_base"] = {
        k: medians["new"][k] / medians["base"][k]
        for k in COMPARED
        if k in medians["new"] and k in medians["base"]
    }
    for name, values in ratios.items():
        print(f"{name:14} {json.dumps({k: round(v, 3) for k, v in values.items()})}")
    report = {
        "jobs": args.jobs,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "base": commit_of(args.base),
        "new": commit_of(Path.cwd()),
    }
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    save(f"engine-ab-{when}.json", report | {"medians": medians, "ratios": ratios, "runs": runs})


if __name__ == "__main__":
    main()
