"""Running one seed to its end: what it did (`Outcome`), what it broke, and its fingerprint."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field

from simulation.loop import SimulatedLoop, simulated_world
from simulation.world import Variant, World


@dataclass
class Outcome:
    """What one seed did, and what it broke."""

    seed: int
    violations: list[str] = field(default_factory=list)
    simulated_seconds: float = 0.0
    events: int = 0
    api_calls: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    workers: int = 0
    fingerprint: str = ""  # a digest of the whole log: equal runs have equal fingerprints


def run_seed(seed: int, variant: Variant | None = None) -> Outcome:
    """Run one seed to its end and check every invariant."""
    from simulation.invariants import check

    logging.getLogger("regflow").setLevel(logging.CRITICAL)
    loop = SimulatedLoop()
    outcome = Outcome(seed)
    try:
        world = World(seed, variant or Variant(), loop)
        with simulated_world(world.clock, world.rng):
            try:
                loop.run_until_complete(world.run())
            except Exception as exc:
                outcome.violations.append(f"the run itself failed: {type(exc).__name__}: {exc}")
            outcome.violations += world.broken + check(world)
        outcome.simulated_seconds = loop.now
        outcome.api_calls = world.api.calls
        outcome.workers = world.plan.workers
        outcome.faults = dict(world.store.injected)
        outcome.events = world.app.recorder.max_notification_id() or 0
        outcome.fingerprint = fingerprint(world)
        world.views.stop()
        world.app.close()
        world.leases.close()
    finally:
        _finish(loop)
        loop.close()
    return outcome


def fingerprint(world: World) -> str:
    """A digest of every stored event (who, which version, what) in log order."""
    digest = hashlib.sha256()
    notifications = world.app.recorder.select_notifications(0, 10**9, inclusive_of_start=False)
    for record in notifications:
        event = world.app.mapper.to_domain_event(record)
        fields = json.dumps(vars(event), sort_keys=True, default=str)
        digest.update(f"{record.topic}:{fields};".encode())
    return digest.hexdigest()


def _finish(loop: SimulatedLoop) -> None:
    """Cancel what the run left waiting, so closing the loop destroys no pending task."""
    left = asyncio.all_tasks(loop)
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
