"""regflow's engine beside DBOS Transact on the same workload, the same PostgreSQL, one run.

Both run jobs of the 12 sub-steps of PLAN in 4 phases against the same in-process fake API
(bench/fake_api.py; latency from REGFLOW_BENCH_API_LATENCY_MS, 0 by default), at most 16
jobs and 32 calls at once, each on a database of its own created and dropped by the bench
(bench/scratch.py). The cases alternate, REPEATS times each, every case in a fresh process;
the medians are compared: throughput as regflow/DBOS (above 1: regflow is faster) and
per-step overhead as regflow/DBOS (below 1: regflow spends less). Run from the repository
root: `python -m bench.versus_dbos [--jobs N] [--repeats N]`. Saves
bench/results/versus-dbos-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.engine import run_in_fresh_process
from bench.fake_api import LATENCY_S

CASES = ("postgres-inprocess", "dbos")
FIGURES = (
    "jobs_per_s",
    "sub_steps_per_s",
    "critical_path_overhead_ms_per_step_p50",
    "overhead_ms_p50",
    "overhead_ms_p99",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    for repeat in range(args.repeats):
        for case in CASES if repeat % 2 == 0 else reversed(CASES):
            runs[case].append(run_in_fresh_process(case, args.jobs))
            shown = {k: round(runs[case][-1][k], 3) for k in FIGURES if k in runs[case][-1]}
            print(f"run {repeat + 1} {case:20} {json.dumps(shown)}", flush=True)
    medians = {
        case: {k: statistics.median(r[k] for r in rs) for k in FIGURES if k in rs[0]}
        for case, rs in runs.items()
    }
    ours, dbos = medians["postgres-inprocess"], medians["dbos"]
    ratios = {
        "throughput_regflow_over_dbos": ours["jobs_per_s"] / dbos["jobs_per_s"],
        "critical_path_overhead_regflow_over_dbos": (
            ours["critical_path_overhead_ms_per_step_p50"]
            / dbos["critical_path_overhead_ms_per_step_p50"]
        ),
        "step_overhead_p50_regflow_over_dbos": ours["overhead_ms_p50"] / dbos["overhead_ms_p50"],
        "step_overhead_p99_regflow_over_dbos": ours["overhead_ms_p99"] / dbos["overhead_ms_p99"],
    }
    for name, value in ratios.items():
        print(f"{name:44} {value:8.3f}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(__file__).parent / "results" / f"versus-dbos-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "jobs": args.jobs,
                "repeats": args.repeats,
                "api_latency_ms": LATENCY_S * 1000,
                "cpus": os.cpu_count(),
                "dbos_version": _version("dbos"),
                "medians": medians,
                "ratios": ratios,
                "runs": runs,
            },
            indent=2,
        )
    )
    print(f"saved {out}")


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    main()
