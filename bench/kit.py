"""What the benchmarks share: how many rounds, a restaurant's config, where the figures go, and
how a benchmark compares this tree with a base tree."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROUNDS = int(os.environ.get("REGFLOW_BENCH_ROUNDS", "3"))
CONFIG = {
    "account": {"email": "a@b.example", "password": "pw"},
    "menu": {"menu_id": "m"},
    "payment": {"enabled": True},
    "onboarding_user": {"enabled": True},
}
RESULTS = Path(__file__).parent / "results"


def save(name: str, figures: Any) -> Path:
    """Write the figures as JSON to bench/results/`name` and say where."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / name
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"saved {out}")
    return out


def figures_in_tree(script: str, tree: Path) -> dict[str, float]:
    """What `script --here` prints for the code of `tree`, run in a process of its own.

    The file is run by runpy, not as `python FILE`, which would put bench/ first on the path,
    where bench/projections.py hides the projections package."""
    run = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
    done = subprocess.run(
        [sys.executable, "-c", run, str(Path(script).resolve()), "--here"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
        env=os.environ | {"PYTHONPATH": str(tree)},
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def compare_trees(
    script: str, description: str | None, name: str, shown: str, **fields: Any
) -> None:
    """`script`'s figures for this tree and, given `--base`, a base tree's, each measured by
    `script --here` in its own process; printed (each with `shown`, e.g. "{:.2f} us"), with
    new/base, and saved as bench/results/<name>-<time>.json beside `fields`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--base", type=Path, help="a base tree's checkout to compare with")
    parser.add_argument("--here", action="store_true", help="print this tree's figures only")
    args = parser.parse_args()
    trees = {"new": Path.cwd()} | ({"base": args.base.resolve()} if args.base else {})
    figures = {tree: figures_in_tree(script, path) for tree, path in trees.items()}
    for tree, values in figures.items():
        print(f"{tree:5} " + "  ".join(f"{k}: {shown.format(v)}" for k, v in values.items()))
    result: dict[str, Any] = fields | {"figures": figures}
    if "base" in figures:
        result["new_over_base"] = {
            k: figures["new"][k] / figures["base"][k] for k in figures["new"]
        }
        print("new/base " + "  ".join(f"{k}: {v:.3f}" for k, v in result["new_over_base"].items()))
    save(f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json", result)
