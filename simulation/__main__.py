"""`python -m simulation --seeds N` or `--seed K`: run seeds, report failures, sum up."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

from simulation.runs import Outcome, run_seed


def outcomes(seeds: list[int], jobs: int) -> Iterator[Outcome]:
    """Each seed's outcome, in seed order; seeds are independent, so processes share them."""
    if jobs <= 1 or len(seeds) == 1:
        yield from map(run_seed, seeds)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(run_seed, seeds, chunksize=4)


def report(results: Iterable[Outcome], verbose: bool) -> tuple[int, int]:
    """Print each failing seed with what it broke and how to reproduce it; (passed, failed)."""
    passed = failed = 0
    for outcome in results:
        if not outcome.violations:
            passed += 1
            if verbose:
                print(
                    f"seed {outcome.seed} passed: {outcome.events} events, "
                    f"{outcome.api_calls} API calls, {outcome.simulated_seconds:.0f} simulated "
                    f"seconds, store faults {outcome.faults}"
                )
            continue
        failed += 1
        print(f"seed {outcome.seed} FAILED:")
        for violation in outcome.violations:
            print(f"  - {violation}")
        print(f"  reproduce: make simulate SEED={outcome.seed}", flush=True)
    return passed, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulation", description=__doc__)
    parser.add_argument("--seeds", type=int, default=300, help="run seeds FIRST..FIRST+N-1")
    parser.add_argument("--first", type=int, default=0, help="first seed of --seeds")
    parser.add_argument("--seed", type=int, default=None, help="run this one seed")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes")
    args = parser.parse_args(argv)
    one = args.seed is not None
    seeds = [args.seed] if one else list(range(args.first, args.first + args.seeds))
    passed, failed = report(outcomes(seeds, args.jobs), verbose=one)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
