"""What tracing costs the engine, in instructions counted by callgrind: on beside off.

`bench.tracing_cost` times the engine with tracing on and off; on this machine its pairs move
from 0.83 to 1.13 with the neighbours' load. This counts what the engine process executes
instead (bench/callgrind.py): `bench.engine`'s `postgres-inprocess` case, untraced and traced
(the console exporter writing every span to a file), each run with FEW and with MANY jobs,
so that start-up, the batch's set-up and the exporter's flush subtract out. Instructions per
job, traced over untraced, is what the same CPU-bound engine's throughput loses: a ratio
of throughput of 1 / that (the goal, at least 0.9, is at most 1.11 here). The engine's count
moves by about a percent between runs (its group commits and polls follow the clock), so it
also counts the spans alone, deterministically: bench.tracing_cost's loop of one job's run
span and twelve attempt spans, exported the same way, per job. Run from the
repository root: `python -m bench.tracing_instructions` (about ten minutes). Saves
bench/results/tracing-instructions-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.callgrind import instructions

RESULTS = Path(__file__).parent / "results"
OFF, ON = "postgres-inprocess", "postgres-inprocess-traced"
FEW, MANY = 20, 120


def per_job(case: str, few: int, many: int) -> dict[str, Any]:
    counts = {
        n: instructions("bench.engine", "--case", case, "--jobs", str(n)) for n in (few, many)
    }
    return {
        "instructions_few": counts[few],
        "instructions_many": counts[many],
        "instructions_per_job": round((counts[many] - counts[few]) / (many - few)),
    }


def spans_per_job(few: int = 200, many: int = 1200) -> int:
    """Instructions of one job's spans (run and attempts), opened, ended and exported."""
    counts = [instructions("bench.tracing_instructions", "--spans", str(n)) for n in (few, many)]
    return round((counts[1] - counts[0]) / (many - few))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--few", type=int, default=FEW)
    parser.add_argument("--many", type=int, default=MANY)
    parser.add_argument("--spans", type=int, help=argparse.SUPPRESS)  # the child of spans_per_job
    args = parser.parse_args()
    if args.spans is not None:
        from bench.tracing_cost import span_cpu_ms_per_job

        span_cpu_ms_per_job(args.spans)
        return
    figures: dict[str, Any] = {"bench": "tracing_instructions", "few": args.few, "many": args.many}
    figures["spans_instructions_per_job"] = spans_per_job()
    print("spans", figures["spans_instructions_per_job"], flush=True)
    for name, case in (("off", OFF), ("on", ON)):
        figures[name] = per_job(case, args.few, args.many)
        print(name, json.dumps(figures[name]), flush=True)
    ratio = figures["on"]["instructions_per_job"] / figures["off"]["instructions_per_job"]
    figures["on_over_off"] = round(ratio, 4)
    figures["throughput_on_over_off"] = round(1 / ratio, 4)
    spans = figures["spans_instructions_per_job"] / figures["off"]["instructions_per_job"]
    figures["spans_over_off"] = round(spans, 4)
    print(json.dumps(figures))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"tracing-instructions-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
