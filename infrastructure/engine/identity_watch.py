"""Watching an engine's worker id: no job runs here while another live process may hold it.

A process whose lock session was cut (its connection dropped) while another process took the
id meanwhile holds it no more. An id set explicitly (REGFLOW_WORKER_ID) is the operator's: the
engine waits until it is free again, and readiness says why it runs nothing. An id the process
derived names nothing anyone chose, so the engine trades it for the first free derived id and
carries on: its runs are stopped first (their leases name the lost id), then the new id, with an
incarnation of its own, goes into the leases, the job claims and the flow ledger. Claims wait
while the id changes, so no job is ever taken under an id another live process holds.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from infrastructure.engine.identity import WorkerIdentity, WorkerIdTaken, hold_another
from infrastructure.engine.leases import Leases
from infrastructure.engine.shared import Shared
from infrastructure.settings import Settings

log = logging.getLogger("regflow.engine")


class Watched(Protocol):
    """The engine, as the watch over its worker id sees it."""

    settings: Settings
    shared: Shared
    leases: Leases
    identity: WorkerIdentity
    worker_id: str
    identity_held: bool
    claiming: asyncio.Lock  # held while jobs are looked for and claimed

    async def runs_stopped(self, seconds: float) -> bool: ...


async def check_identity(engine: Watched) -> None:
    """Whether the engine still holds its worker id (a free one lost is taken again), and,
    when a derived id was taken by another live process, another free one in its place."""
    was, lost = engine.identity_held, engine.identity
    held = await engine.shared.gateway.run(lost.holds)
    if not held and lost.derived:
        engine.identity_held = False  # no claim while the id changes
        held = await _trade(engine, lost)
    if held != was:
        if held:
            log.info("worker id %s held again; looking for work", engine.worker_id)
        else:
            log.error("worker id %s is no longer held here; stopping its jobs", engine.worker_id)
    engine.identity_held = held


async def _trade(engine: Watched, lost: WorkerIdentity) -> bool:
    """Stop the runs under `lost`, then hold a free derived id; False while that cannot be."""
    async with engine.claiming:
        if not await engine.runs_stopped(engine.settings.lease_seconds / 3):
            return False  # a run still stopping: the next check trades the id
        try:
            fresh = await engine.shared.gateway.run(hold_another, engine.settings, lost)
        except WorkerIdTaken as exc:
            log.error("worker id %s was taken by another live process: %s", lost.worker_id, exc)
            return False
        engine.identity = fresh
        engine.worker_id = engine.shared.worker_id = fresh.worker_id
        engine.leases.incarnation = fresh.incarnation
        engine.shared.flow.serve_as(fresh.worker_id)
    log.warning(
        "worker id %s was taken by another live process while this one's lock session was "
        "lost; this process derived %s and carries on under it",
        lost.worker_id,
        fresh.worker_id,
    )
    return True
