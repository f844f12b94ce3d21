"""The console's copy of the Step 6 plan as an ES module, rendered from domain/plan.py."""

from __future__ import annotations

import json
from pathlib import Path

from domain.plan import PLAN

PLAN_MODULE = Path(__file__).parents[2] / "api" / "static" / "js" / "plan.js"
HEADER = (
    "// Generated from domain/plan.py by `python -m tests.browser.plan_module`;"
    " a test checks they agree.\n"
)


def render_plan_module() -> str:
    """The text plan.js must hold for the console to draw the plan domain/plan.py defines."""
    steps = [
        {
            "key": key,
            "phase": PLAN.phase_of(key),
            "depends_on": list(PLAN.dependencies(key)),
            "endpoint": PLAN.sub_step(key).endpoint,
        }
        for key in PLAN.keys
    ]
    lines = [json.dumps(step) for step in steps]
    body = ",\n  ".join(lines)
    return (
        f"{HEADER}export const PHASES = {json.dumps(list(PLAN.phases))};\n"
        f"export const SUB_STEPS = [\n  {body},\n];\n"
    )


if __name__ == "__main__":
    PLAN_MODULE.write_text(render_plan_module(), encoding="utf-8")
    print(f"wrote {PLAN_MODULE}")
