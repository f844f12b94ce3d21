"""What the benchmarks share: how many rounds, a restaurant's config, where the figures go."""

from __future__ import annotations

import json
import os
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
