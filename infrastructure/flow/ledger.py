"""The ledger of call slots: who holds what, the rate bucket and pauses; here, in memory."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from infrastructure.flow.config import FlowConfig
from infrastructure.flow.fair import Ask, Shares, allocate
from infrastructure.flow.limiter import TokenBucket

IDLE = 3600.0


class FlowUnavailable(Exception):
    """The shared ledger could not be reached (a transient database error)."""


@dataclass(frozen=True)
class Slot:
    """A call slot held by one call of one organisation's sub-step."""

    id: int
    organisation: str
    sub_step: str


@dataclass
class Exchange:
    """One round with the ledger: what this worker gives back, asks for, and wants paused, and
    the jobs whose calls wait, by ask, oldest first (a shared ledger records them for every
    process on the database)."""

    asks: Mapping[Ask, int]
    budget: int
    releases: list[Slot] = field(default_factory=list)
    pauses: dict[str, float] = field(default_factory=dict)
    waiting_jobs: Mapping[Ask, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """Slots granted, and how long before asking again could give more."""

    granted: list[Slot]
    retry_in: float
    paused: frozenset[str] = frozenset()


class Ledger(Protocol):
    """Where slots are counted: in memory (one process) or in the database (all workers)."""

    def exchange(self, round_: Exchange) -> Answer: ...

    def serve_as(self, worker_id: str) -> None: ...

    def close(self) -> None: ...


class MemoryLedger:
    """Slots, bucket and pauses of one process, on its clock."""

    def __init__(self, config: FlowConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._bucket = TokenBucket(config.rate_per_s, clock) if config.rate_per_s else None
        self._held: dict[int, Slot] = {}
        self._served: dict[str, float] = {}
        self._pauses: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._turn = 0.0

    def exchange(self, round_: Exchange) -> Answer:
        """Give back `releases`, record `pauses`, and grant what is free, fairly."""
        now = self._clock()
        for slot in round_.releases:
            self._held.pop(slot.id, None)
        for step, seconds in round_.pauses.items():
            self._pauses[step] = max(self._pauses.get(step, now), now + seconds)
        self._pauses = {s: t for s, t in self._pauses.items() if t > now}
        free = self._free()
        shares = Shares(
            free=free,
            held_by_org=Counter(s.organisation for s in self._held.values()),
            held_by_step=Counter(s.sub_step for s in self._held.values()),
            step_caps=self.config.limits,
            last_served=self._served,
            paused=set(self._pauses),
        )
        granted = [self._grant(ask) for ask in allocate(shares, round_.asks, round_.budget)]
        if self._bucket is not None and granted:
            self._bucket.take(len(granted))
        return Answer(granted, self._retry_in(now), frozenset(self._pauses))

    def _free(self) -> int:
        free = self.config.max_in_flight - len(self._held) if self.config.max_in_flight else 1 << 30
        if self._bucket is not None:
            free = min(free, self._bucket.available())
        return free

    def _grant(self, ask: Ask) -> Slot:
        slot = Slot(next(self._ids), *ask)
        self._held[slot.id] = slot
        self._turn += 1.0
        self._served[ask[0]] = self._turn
        return slot

    def _retry_in(self, now: float) -> float:
        waits = [t - now for t in self._pauses.values()]
        if self._bucket is not None:
            waits.append(self._bucket.seconds_to_next() or IDLE)
        return max(0.0, min(waits, default=IDLE))

    def held(self) -> int:
        return len(self._held)

    def serve_as(self, worker_id: str) -> None:
        """Nothing to rename: slots in memory belong to this process alone."""

    def close(self) -> None:
        self._held.clear()
