"""`python -m simulation --seeds N` or `--seed K`: run seeds, report failures, sum up."""

from __future__ import annotations

import argparse
import sys

from simulation.world import run_seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulation", description=__doc__)
    parser.add_argument("--seeds", type=int, default=100, help="run seeds 0..N-1")
    parser.add_argument("--seed", type=int, default=None, help="run this one seed")
    parser.add_argument("--first", type=int, default=0, help="first seed of --seeds")
    args = parser.parse_args(argv)
    seeds = [args.seed] if args.seed is not None else range(args.first, args.first + args.seeds)
    failed = 0
    for seed in seeds:
        outcome = run_seed(seed)
        if outcome.violations:
            failed += 1
            print(f"seed {seed} FAILED:")
            for violation in outcome.violations:
                print(f"  - {violation}")
            print(f"  reproduce: make simulate SEED={seed}")
        elif args.seed is not None:
            print(
                f"seed {seed} passed: {outcome.events} events, {outcome.api_calls} API calls, "
                f"{outcome.simulated_seconds:.0f} simulated seconds, store faults {outcome.faults}"
            )
    total = len(seeds)
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
