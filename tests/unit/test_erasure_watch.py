"""The engine's watch on erasures: a job read before an organisation was erased makes no more
calls with its data; one read after it does; a look at the key table is at most
ERASURE_CHECK_SECONDS old when a call asks, and news empties the keyring's cache."""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.engine.erasures import ERASURE_CHECK_SECONDS, ErasureWatch
from tests.unit.flow_kit import FakeClock


class KeyTable:
    """Destroyed key counts as a store would give them, each look taking `took` seconds."""

    def __init__(
        self, clock: FakeClock, took: float = 0.01, counts: dict[str, int] | None = None
    ) -> None:
        self.clock, self.took = clock, took
        self.counts: dict[str, int] = dict(counts or {})
        self.looks = 0
        self.forgotten = 0
        self.down = False
        self.during_next_look: dict[str, int] = {}  # committed once the look has read
        self.committed_at: float | None = None

    async def destroyed(self) -> dict[str, int]:
        if self.down:
            raise psycopg.OperationalError("the server closed the connection")
        self.looks += 1
        seen = dict(self.counts)
        self.clock.advance(self.took / 2)
        if self.during_next_look:
            self.counts |= self.during_next_look
            self.during_next_look, self.committed_at = {}, self.clock.monotonic()
        self.clock.advance(self.took / 2)
        return seen

    def forget(self) -> None:
        self.forgotten += 1


def watch_of(table: KeyTable) -> ErasureWatch:
    return ErasureWatch(table.destroyed, table.forget, table.clock)


async def started(table: KeyTable) -> ErasureWatch:
    watch = watch_of(table)
    await watch.start()
    return watch


async def test_a_job_read_before_the_erasure_makes_no_call_and_one_read_after_it_does() -> None:
    clock = FakeClock()
    table = KeyTable(clock)
    watch = await started(table)
    read_before = clock.monotonic()
    table.counts["org-a"] = 1
    clock.advance(ERASURE_CHECK_SECONDS)
    assert await watch.erased_since("org-a", read_before)
    assert table.forgotten == 1
    assert not await watch.erased_since("org-a", clock.monotonic())
    assert not await watch.erased_since("org-b", read_before)


async def test_erasures_before_the_engine_started_are_no_news() -> None:
    clock = FakeClock()
    table = KeyTable(clock, counts={"org-a": 1})
    watch = await started(table)
    clock.advance(ERASURE_CHECK_SECONDS)
    assert not await watch.erased_since("org-a", clock.monotonic() - 60)
    assert table.forgotten == 0


async def test_an_organisation_erased_again_is_news_again() -> None:
    clock = FakeClock()
    table = KeyTable(clock, counts={"org-a": 1})
    watch = await started(table)
    read = clock.monotonic()
    table.counts["org-a"] = 2  # its new key, made after the first erasure, destroyed too
    clock.advance(ERASURE_CHECK_SECONDS)
    assert await watch.erased_since("org-a", read)


async def test_when_the_first_look_failed_every_erasure_found_later_is_news() -> None:
    clock = FakeClock()
    table = KeyTable(clock)
    table.counts["org-a"] = 1
    table.down = True
    watch = watch_of(table)
    await watch.start()
    read = clock.monotonic()
    table.down = False
    assert await watch.erased_since("org-a", read)


async def test_a_look_that_fails_fails_the_question() -> None:
    clock = FakeClock()
    table = KeyTable(clock)
    watch = await started(table)
    table.down = True
    clock.advance(ERASURE_CHECK_SECONDS)
    with pytest.raises(psycopg.OperationalError):
        await watch.erased_since("org-a", clock.monotonic())


@settings(max_examples=200, deadline=None)
@given(
    asks=st.lists(st.floats(min_value=0, max_value=3 * ERASURE_CHECK_SECONDS), max_size=30),
    took=st.floats(min_value=0, max_value=ERASURE_CHECK_SECONDS / 2),
    while_looking=st.booleans(),
)
async def test_a_call_knows_of_every_erasure_committed_before_its_freshness_window(
    asks: list[float], took: float, while_looking: bool
) -> None:
    """Whatever the calls' timing and the looks' duration, and an erasure committed between
    asks or while a look is reading: once the key of an organisation a job was read before was
    destroyed ERASURE_CHECK_SECONDS or more before a call asks, the call is refused; and no
    look is made for a call while the last one is fresh enough."""
    clock = FakeClock()
    table = KeyTable(clock, took)
    watch = await started(table)
    read = clock.monotonic()
    for step, gap in enumerate(asks):
        clock.advance(gap)
        if step == len(asks) // 2 and while_looking:
            table.during_next_look["org-a"] = 1
        elif step == len(asks) // 2:
            table.counts["org-a"], table.committed_at = 1, clock.monotonic()
        looks = table.looks
        erased = await watch.erased_since("org-a", read)
        destroyed_at = table.committed_at
        if destroyed_at is not None and clock.monotonic() - destroyed_at >= ERASURE_CHECK_SECONDS:
            assert erased
        if gap == 0 and step > 0:
            assert table.looks == looks
