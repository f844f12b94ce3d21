"""What tracing costs the engine, in instructions counted by callgrind: on beside off.

`bench.tracing_cost` times the engine with tracing on and off; on this machine its pairs move
from 0.83 to 1.13 with the neighbours' load. This counts what the engine process executes
instead (bench/callgrind.py): `bench.engine`'s `postgres-inprocess` case, untraced and traced
(the console exporter writing every span to a file), each run with FEW and with MANY jobs,
so that start-up, the batch's set-up and the exporter's flush subtract out. Instructions per
job, traced over untraced, is what the same CPU-bound engine's throughput loses: a ratio
of throughput of 1 / that (the goal, at least 0.9, is at most 1.11 here). Run from the
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--few", type=int, default=FEW)
    parser.add_argument("--many", type=int, default=MANY)
    args = parser.parse_args()
    figures: dict[str, Any] = {"bench": "tracing_instructions", "few": args.few, "many": args.many}
    for name, case in (("off", OFF), ("on", ON)):
        figures[name] = per_job(case, args.few, args.many)
        print(name, json.dumps(figures[name]), flush=True)
    ratio = figures["on"]["instructions_per_job"] / figures["off"]["instructions_per_job"]
    figures["on_over_off"] = round(ratio, 4)
    figures["throughput_on_over_off"] = round(1 / ratio, 4)
    print(json.dumps(figures))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"tracing-instructions-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
