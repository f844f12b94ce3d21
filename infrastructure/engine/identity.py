"""A worker id held while its process lives: one live process per id on one store.

A stable id lets a restarted process reclaim its own leases at once. Two live processes with
the same id would both believe they hold those leases, so the id is locked for the process
life: a session advisory lock on PostgreSQL, a file lock beside the SQLite file. Each hold also
has an incarnation, written into the leases it takes, so a lease taken by a restarted process is
fenced from the process before it. A derived id that a live process lost (its lock session cut,
and another process took the id meanwhile) is traded for another free one (`hold_another`); one
set explicitly is the operator's to move, so the process waits until it is free again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from domain.exceptions import RegflowError
from infrastructure.engine.file_lock import FileLock
from infrastructure.engine.worker_locks import AdvisoryLock, HeldForGood, WorkerLock
from infrastructure.settings import Settings

log = logging.getLogger("regflow.engine")
MAX_DERIVED = 64


class WorkerIdTaken(RegflowError):
    """The worker id set explicitly is held by another live process on the same store."""


@dataclass
class WorkerIdentity:
    """The worker id this process holds, this hold's incarnation, and whether the id was
    derived (another may be taken in its place) or set explicitly."""

    worker_id: str
    lock: WorkerLock
    incarnation: str = field(default_factory=lambda: uuid.uuid4().hex)
    derived: bool = False

    def holds(self) -> bool:
        """Whether the id is still ours (a lost PostgreSQL session is retaken if free)."""
        return self.lock.holds()

    def release(self) -> None:
        self.lock.release()


def _take(settings: Settings, worker_id: str) -> WorkerLock | str:
    if settings.is_postgres:
        return AdvisoryLock.take(settings, worker_id)
    if settings.is_in_memory:
        return HeldForGood()
    return FileLock.take(settings.sqlite_path, worker_id)


def hold_worker_id(settings: Settings) -> WorkerIdentity:
    """Lock this process's worker id: the one set, or the first free one derived from the store.

    An id set explicitly (REGFLOW_WORKER_ID) that a live process holds is refused; a derived id
    that a live process holds makes this process take the next derived one (`...#2`, `#3`).
    """
    base = settings.effective_worker_id
    explicit = settings.worker_id is not None
    candidates = [base] if explicit else [base, *(f"{base}#{n}" for n in range(2, MAX_DERIVED))]
    holders: list[str] = []
    for candidate in candidates:
        taken = _take(settings, candidate)
        if not isinstance(taken, str):
            if candidate != base:
                log.info("worker id %s is held by %s; this is %s", base, holders[0], candidate)
            return WorkerIdentity(candidate, taken, derived=not explicit)
        holders.append(taken)
    if explicit:
        raise WorkerIdTaken(
            f"Worker id {base!r} is held by a live process ({holders[0]}) on this store. "
            "Stop that process, or give this one another REGFLOW_WORKER_ID "
            "(or leave it unset to derive a free one)."
        )
    raise WorkerIdTaken(f"All {MAX_DERIVED - 1} worker ids derived from {base!r} are held")


def hold_another(settings: Settings, lost: WorkerIdentity) -> WorkerIdentity:
    """In place of `lost`, a derived id another live process holds now, the first free derived
    id (as at start), with an incarnation of its own; `lost` is given up once that is held.
    WorkerIdTaken when none is free: `lost` is kept then, to be taken again when it is free."""
    assert lost.derived, "an id set explicitly is waited for, never traded"
    fresh = hold_worker_id(settings)
    lost.release()
    return fresh
