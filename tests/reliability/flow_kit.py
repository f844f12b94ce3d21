"""Pieces of the flow control tests: organisations' batches, and what the simulator saw."""

from __future__ import annotations

from typing import Any

from infrastructure.executors.simulator.serving import Simulator
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.kit import restaurants


def start_org_batch(app: Registrations, count: int, org: str | None = None) -> tuple[str, set[str]]:
    """A batch of `count` jobs of one (new) organisation, started; its org and job ids."""
    org = org or unique_org()
    batch, jobs, _ = app.create_batch(org, "user:test", "flow test", restaurants(count))
    app.start_step6(org, batch.id, None, "user:test")
    return org, {str(j.id) for j in jobs}


def calls_of(sim: Simulator, jobs: set[str]) -> list[Any]:
    """The simulator's records of calls for these jobs, in order of arrival."""
    return [c for c in sim.calls if c.job in jobs]


def share_429(calls: list[Any]) -> float:
    return sum(1 for c in calls if c.status == 429) / max(len(calls), 1)
