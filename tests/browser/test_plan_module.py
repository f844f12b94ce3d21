"""The console draws the plan from plan.js; it must say what domain/plan.py says."""

from __future__ import annotations

from tests.browser.plan_module import PLAN_MODULE, render_plan_module


def test_plan_module_agrees_with_the_domain_plan() -> None:
    stored = PLAN_MODULE.read_text(encoding="utf-8")
    assert stored == render_plan_module(), (
        "api/static/js/plan.js is stale: run `python -m tests.browser.plan_module`"
    )
