"""Renewing the leases of the jobs an engine runs; a job whose lease is gone is dropped."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from infrastructure.engine.clock import Clock
from infrastructure.engine.leases import Leases
from infrastructure.engine.shared import Shared
from infrastructure.errors import describe_exception, is_transient_exception
from infrastructure.settings import Settings

log = logging.getLogger("regflow.engine")
GIVE_UP_FRACTION = 0.8


class Holder(Protocol):
    """The engine, as lease renewal sees it."""

    settings: Settings
    clock: Clock
    shared: Shared
    leases: Leases
    worker_id: str
    runners: dict[str, Any]
    closing: bool
    lease_margin: float
    identity_held: bool

    async def check_identity(self) -> None: ...


async def renew_forever(engine: Holder) -> None:
    """Every third of a lease, extend the leases held; drop jobs whose lease cannot be kept."""
    seconds = engine.settings.lease_seconds
    clock = engine.clock
    last_renewed = clock.monotonic()
    while not engine.closing:
        await clock.sleep(seconds / 3)
        held = list(engine.runners)
        asked = clock.monotonic()
        try:
            await engine.check_identity()
            kept = await engine.shared.gateway.run(
                engine.leases.renew, held, engine.worker_id, seconds
            )
            kept = kept if engine.identity_held else set()
        except Exception as exc:
            if not is_transient_exception(exc):
                log.error("lease renewal failed: not a transient error", exc_info=exc)
            log.warning("lease renewal failed: %s", describe_exception(exc))
            if clock.monotonic() - last_renewed <= seconds * engine.lease_margin:
                continue
            kept = set()
        if kept or not held:
            last_renewed = asked
        for job_id in held:
            runner = engine.runners.get(job_id)
            if runner is None:
                continue
            if job_id in kept:
                runner.lease_until = asked + seconds
            else:
                runner.lose()
