"""The engine on PostgreSQL in-process on each event loop, beside the raw psycopg floor and DBOS.

Each round runs the raw floor, DBOS and the engine on uvloop (regflow's loop in `serve` and
`work`) and on asyncio's own loop, each in a fresh process, in an order that alternates from
round to round; the medians are compared: each loop's jobs/s as a fraction of the raw floor and
against DBOS, and CPU per job. Run from the repository root:
`python -m bench.engine_loops [--jobs N] [--rounds N]`. Saves
bench/results/engine-loops-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from datetime import UTC, datetime
from typing import Any

from bench.engine import LOOPS, run_in_fresh_process
from bench.kit import save

ENGINE = "postgres-inprocess"
FIGURES = ("jobs_per_s", "cpu_ms_per_job", "critical_path_overhead_ms_per_step_p50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = [*(f"{ENGINE}@{loop}" for loop in LOOPS), "raw", "dbos"]
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in cases}
    for round_ in range(args.rounds):
        for case in cases if round_ % 2 == 0 else reversed(cases):
            name, _, loop = case.partition("@")
            runs[case].append(run_in_fresh_process(name, args.jobs, loop or LOOPS[0]))
            shown = {k: round(runs[case][-1][k], 3) for k in FIGURES if k in runs[case][-1]}
            print(f"round {round_ + 1} {case:28} {json.dumps(shown)}", flush=True)
    medians = {
        case: {k: statistics.median(r[k] for r in rs) for k in FIGURES if k in rs[0]}
        for case, rs in runs.items()
    }
    raw, dbos = medians["raw"]["jobs_per_s"], medians["dbos"]["jobs_per_s"]
    ratios = {
        loop: {
            "fraction_of_raw_floor": medians[f"{ENGINE}@{loop}"]["jobs_per_s"] / raw,
            "x_dbos": medians[f"{ENGINE}@{loop}"]["jobs_per_s"] / dbos,
        }
        for loop in LOOPS
    }
    first, second = (medians[f"{ENGINE}@{loop}"] for loop in LOOPS)
    ratios["cpu_per_job_" + "_over_".join(LOOPS)] = {
        "ratio": first["cpu_ms_per_job"] / second["cpu_ms_per_job"]
    }
    for name, values in ratios.items():
        print(f"{name:36} {json.dumps({k: round(v, 3) for k, v in values.items()})}")
    report = {"jobs": args.jobs, "rounds": args.rounds, "cpus": os.cpu_count()}
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    save(f"engine-loops-{when}.json", report | {"medians": medians, "ratios": ratios, "runs": runs})


if __name__ == "__main__":
    main()
