"""Simulation throughput: seeds per second and simulated engine-hours per wall-second."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from simulation.world import run_seed

RESULTS = Path(__file__).parent / "results" / "simulation.json"


def main(seeds: int = 50) -> dict[str, float]:
    started = time.perf_counter()
    simulated = events = failed = 0.0
    for seed in range(seeds):
        outcome = run_seed(seed)
        simulated += outcome.simulated_seconds
        events += outcome.events
        failed += bool(outcome.violations)
    wall = time.perf_counter() - started
    figures = {
        "seeds": seeds,
        "failed": failed,
        "wall_seconds": round(wall, 2),
        "seeds_per_second": round(seeds / wall, 2),
        "simulated_hours": round(simulated / 3600, 2),
        "simulated_engine_hours_per_wall_second": round(simulated / 3600 / wall, 3),
        "events_per_wall_second": round(events / wall, 1),
        "seconds_for_300_seeds": round(300 * wall / seeds, 1),
    }
    print(json.dumps(figures, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
