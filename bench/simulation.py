"""Simulation throughput: seeds per second and simulated engine-hours per wall-second.

Run sequentially in one process; CPU seconds are printed beside wall seconds because the
machine is shared and its load changes wall time.  `python -m bench.simulation [SEEDS]`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from simulation.runs import run_seed

RESULTS = Path(__file__).parent / "results" / "simulation.json"


def main(seeds: int = 60) -> dict[str, float]:
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    simulated = events = calls = failed = workers = 0
    for seed in range(seeds):
        outcome = run_seed(seed)
        simulated += outcome.simulated_seconds
        events += outcome.events
        calls += outcome.api_calls
        failed += bool(outcome.violations)
        workers += outcome.workers
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    engine_hours = simulated * workers / seeds / 3600
    figures = {
        "seeds": seeds,
        "failed": failed,
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "seeds_per_wall_second": round(seeds / wall, 2),
        "seeds_per_cpu_second": round(seeds / cpu, 2),
        "simulated_engine_hours": round(engine_hours, 2),
        "simulated_engine_hours_per_wall_second": round(engine_hours / wall, 3),
        "simulated_engine_hours_per_cpu_second": round(engine_hours / cpu, 3),
        "events_per_seed": round(events / seeds, 1),
        "api_calls_per_seed": round(calls / seeds, 1),
        "cpu_seconds_for_300_seeds_one_process": round(300 * cpu / seeds, 1),
    }
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
