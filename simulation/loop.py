"""An event loop on simulated time: when nothing is ready, time jumps to the next timer."""

from __future__ import annotations

import asyncio
import random
import selectors
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import eventsourcing.domain as es_domain

from infrastructure import tracing

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Deadlock(RuntimeError):
    """Every task waits on something that can never happen: nothing is scheduled."""


class Livelock(RuntimeError):
    """Tasks keep running without ever letting simulated time pass: a spin, not progress."""


# Loop turns at one simulated instant before the run counts as spinning: the busiest instant
# of 40 seeds took 19 (store calls move time on).
LIVELOCK_TURNS = 100_000


class _VirtualSelector(selectors.BaseSelector):
    """A selector with no real I/O: waiting `timeout` seconds advances the loop's clock."""

    def __init__(self, loop: SimulatedLoop, livelock_turns: int) -> None:
        self._loop = loop
        self._livelock_turns = livelock_turns
        self.most_turns = 0
        self._keys: dict[int, selectors.SelectorKey] = {}
        self._turns_now = 0
        self._instant = -1.0

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._keys.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise Deadlock("no task is ready and no timer is set")
        self._loop.advance(timeout)
        if self._loop.now != self._instant:
            self._instant, self._turns_now = self._loop.now, 0
        self._turns_now += 1
        self.most_turns = max(self.most_turns, self._turns_now)
        if self._turns_now > self._livelock_turns:
            self._turns_now = 0  # reported once; the caller may still wind the loop down
            raise Livelock(f"{self._livelock_turns} loop turns at {self._loop.now:.1f}s")
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._keys

    def close(self) -> None:
        self._keys.clear()


class SimulatedLoop(asyncio.SelectorEventLoop):
    """asyncio's loop with a clock that only moves when every task waits."""

    def __init__(self, livelock_turns: int = LIVELOCK_TURNS) -> None:
        self.now = 0.0
        self.selector = _VirtualSelector(self, livelock_turns)
        super().__init__(self.selector)

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time on (a blocking store call holds the whole simulated process)."""
        self.now += max(0.0, seconds)


class SimulatedClock:
    """The engine's Clock over a simulated loop."""

    def __init__(self, loop: SimulatedLoop) -> None:
        self.loop = loop

    def monotonic(self) -> float:
        return self.loop.now

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.loop.now)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@contextmanager
def simulated_world(clock: SimulatedClock, rng: random.Random) -> Iterator[None]:
    """Event timestamps, aggregate ids and trace ids come from the simulation, not the world."""
    saved = es_domain.datetime_now_with_tzinfo, es_domain.uuid4
    es_domain.datetime_now_with_tzinfo = clock.now  # type: ignore[assignment]
    es_domain.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)
    ids = tracing.use_id_source(random.Random(rng.getrandbits(64)))
    try:
        yield
    finally:
        es_domain.datetime_now_with_tzinfo, es_domain.uuid4 = saved
        tracing.use_id_source(ids)
