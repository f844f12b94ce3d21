"""The simulated store: a real SQLite recorder wrapped to fail, lie and stall on a plan."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError

from infrastructure.engine.leases import SqliteLeases
from infrastructure.engine.storage import StoreGateway
from infrastructure.usecases.registrations import Registrations
from simulation.loop import SimulatedClock

T = TypeVar("T")
READS = ("select_events", "select_notifications", "max_notification_id")


@dataclass
class StoreFaults:
    """How often the store misbehaves, and when it is down for everyone."""

    fail_commit: float = 0.0  # the commit fails: nothing stored
    ambiguous_commit: float = 0.0  # the commit succeeds, then the connection drops
    drop_read: float = 0.0
    slow_write: float = 0.0  # a write stalls the process for up to 3 s
    outages: list[tuple[float, float]] = field(default_factory=list)
    enabled: bool = True


class FaultyStore:
    """Wraps the recorder of a Registrations app so its writes and reads fail as planned; the
    look for erased organisations each call makes first (a read of the key table) fails as
    the reads do."""

    def __init__(
        self, app: Registrations, faults: StoreFaults, rng: random.Random, clock: SimulatedClock
    ) -> None:
        self.app = app
        self.faults = faults
        self.rng = rng
        self.clock = clock
        self.injected: dict[str, int] = {}
        recorder = app.recorder
        self.raw_insert = recorder.insert_events
        self.raw_reads = {name: getattr(recorder, name) for name in READS}
        recorder.insert_events = self._insert  # type: ignore[method-assign]
        for name, read in self.raw_reads.items():
            setattr(recorder, name, self._reading(read))
        keyring = app.keyring
        keyring.destroyed_keys = self._reading(keyring.destroyed_keys)  # type: ignore[method-assign]

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def _down(self) -> bool:
        now = self.clock.monotonic()
        return self.faults.enabled and any(a <= now < b for a, b in self.faults.outages)

    def _roll(self, chance: float) -> bool:
        return self.faults.enabled and chance > 0 and self.rng.random() < chance

    def _insert(self, stored_events: Any, **kwargs: Any) -> Any:
        if self._down() or self._roll(self.faults.fail_commit):
            self._count("failed commit")
            raise OperationalError("simulated: connection lost before commit")
        if self._roll(self.faults.slow_write):
            self._count("slow write")
            self.clock.loop.advance(self.rng.uniform(0.1, 3.0))
        result = self.raw_insert(stored_events, **kwargs)
        if self._roll(self.faults.ambiguous_commit):
            self._count("ambiguous commit")
            raise OperationalError("simulated: connection lost after commit")
        return result

    def _reading(self, read: Callable[..., T]) -> Callable[..., T]:
        def faulty(*args: Any, **kwargs: Any) -> T:
            if self._down() or self._roll(self.faults.drop_read):
                self._count("dropped read")
                raise InterfaceError("simulated: connection dropped")
            return read(*args, **kwargs)

        return faulty

    def heal(self) -> None:
        """No more faults from now on."""
        self.faults.enabled = False


class ProcessGone(ConnectionError):
    """The simulated worker process is dead: nothing it starts reaches the store."""


class InlineGateway(StoreGateway):
    """Store calls run inline on the simulated loop (no threads, so the run is deterministic)."""

    def __init__(self, app: Registrations) -> None:
        self.app = app
        self.dead = False

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        if self.dead:
            raise ProcessGone("worker process is gone")
        return function(*args)

    def close(self) -> None:
        self.dead = True


class WorkerLeases:
    """One worker's view of the shared lease table: dies with it, cut off during a partition."""

    def __init__(self, table: SqliteLeases, clock: SimulatedClock) -> None:
        self.table = table
        self.clock = clock
        self.dead = False
        self.partitions: list[tuple[float, float]] = []

    def _check(self) -> None:
        now = self.clock.monotonic()
        if self.dead:
            raise ProcessGone("worker process is gone")
        if any(a <= now < b for a, b in self.partitions):
            raise OperationalError("simulated: lease table unreachable from this worker")

    def claim(self, job_id: str, worker_id: str, seconds: float) -> bool:
        self._check()
        return self.table.claim(job_id, worker_id, seconds)

    def renew(self, job_ids: Iterable[str], worker_id: str, seconds: float) -> set[str]:
        self._check()
        return self.table.renew(job_ids, worker_id, seconds)

    def release(self, job_ids: Iterable[str], worker_id: str) -> None:
        self._check()
        self.table.release(job_ids, worker_id)

    def release_held(self, worker_id: str) -> None:
        self._check()
        self.table.release_held(worker_id)

    def busy(self, job_ids: Iterable[str], worker_id: str) -> set[str]:
        self._check()
        return self.table.busy(job_ids, worker_id)

    def abandoned(self, worker_id: str, limit: int) -> list[str]:
        self._check()
        return self.table.abandoned(worker_id, limit)

    def close(self) -> None:
        self.dead = True
