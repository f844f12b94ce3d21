"""Flow control in one process on a fake clock: turns, caps, pauses, the rate, cancellation."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from infrastructure.executors.port import CallOutcome
from infrastructure.flow.config import FlowConfig
from infrastructure.flow.control import FlowControl
from infrastructure.flow.ledger import FlowUnavailable, MemoryLedger, Slot
from tests.unit.flow_kit import FakeClock

OK = CallOutcome(ok=True)
FULL = CallOutcome(ok=False, transient=True, status=429, retry_after=2.0, error="HTTP 429")


def flow(clock: FakeClock, **config: Any) -> FlowControl:
    settings = FlowConfig(**config)
    return FlowControl(settings, clock, MemoryLedger(settings, clock.monotonic))


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


def queue(control: FlowControl, org: str, step: str = "x", n: int = 1) -> list[asyncio.Task[Slot]]:
    return [asyncio.ensure_future(control.acquire(org, step, f"{org}-job")) for _ in range(n)]


async def test_organisations_take_turns_when_calls_wait() -> None:
    control = flow(FakeClock(), max_in_flight=1)
    first = queue(control, "A", n=4)
    await settle()
    late = queue(control, "B", n=2)
    await settle()
    order = []
    for _ in range(6):
        done = next(t for t in first + late if t.done() and t not in [o[1] for o in order])
        order.append((done.result().organisation, done))
        control.release(done.result(), OK, 0.05)
        await settle()
    assert [org for org, _ in order] == ["A", "B", "A", "B", "A", "A"]
    await control.close()


async def test_a_cap_is_never_exceeded_and_freed_slots_are_reused() -> None:
    control = flow(FakeClock(), max_in_flight=3)
    tasks = queue(control, "A", n=10)
    await settle()
    assert sum(t.done() for t in tasks) == 3
    control.release(next(t for t in tasks if t.done()).result(), OK, 0.05)
    await settle()
    assert sum(t.done() for t in tasks) == 4 and len(control.held) == 3
    for task in tasks:
        if task.done():
            control.release(task.result())
        task.cancel()
    await settle()
    assert control.held == {} and len(control.waiting) == 0
    await control.close()


async def test_a_cancelled_waiter_takes_no_slot() -> None:
    control = flow(FakeClock(), max_in_flight=1)
    held, cancelled, last = queue(control, "A", n=3)
    await settle()
    cancelled.cancel()
    control.release(held.result(), OK, 0.05)
    await settle()
    assert last.done() and len(control.held) == 1
    await control.close()


async def test_retry_after_pauses_that_endpoint_only() -> None:
    clock = FakeClock()
    control = flow(clock, max_in_flight=5)
    (first,) = queue(control, "A", "x")
    await settle()
    control.release(first.result(), FULL, 0.01)
    await settle()
    paused, other = queue(control, "A", "x") + queue(control, "A", "y")
    await settle()
    assert (paused.done(), other.done(), control.paused) == (False, True, frozenset({"x"}))
    clock.advance(1.9)
    await settle()
    assert not paused.done()
    clock.advance(0.2)
    await settle()
    assert paused.done()
    await control.close()


async def test_the_rate_holds_on_the_clock() -> None:
    clock = FakeClock()
    control = flow(clock, rate_per_s=4, max_in_flight=100)
    tasks = queue(control, "A", n=10)
    await settle()
    assert sum(t.done() for t in tasks) == 4
    clock.advance(0.5)
    await settle()
    assert sum(t.done() for t in tasks) == 6
    clock.advance(10)
    await settle()
    assert sum(t.done() for t in tasks) == 10
    await control.close()


async def test_sub_step_caps_hold_beside_the_adaptive_limit() -> None:
    control = flow(FakeClock(), limits={"menuImport": 2}, local_max=32, initial_limit=16)
    menu = queue(control, "A", "menuImport", n=5)
    other = queue(control, "A", "itemTags", n=5)
    await settle()
    assert (sum(t.done() for t in menu), sum(t.done() for t in other)) == (2, 5)
    await control.close()


async def test_429s_lower_the_adaptive_limit_and_successes_raise_it() -> None:
    control = flow(FakeClock(), local_max=32, initial_limit=8)
    tasks = queue(control, "A", n=20)
    await settle()
    assert control.limit == 8 and len(control.held) == 8
    slot = next(t for t in tasks if t.done()).result()
    control.release(slot, FULL, 0.001)
    assert control.limit == 7
    await control.close()


class AwayLedger:
    """A ledger whose store is away for the first `rounds` exchanges, each one counted with
    the time it was asked at."""

    def __init__(self, ledger: MemoryLedger, clock: FakeClock, rounds: int) -> None:
        self.ledger, self.clock, self.rounds = ledger, clock, rounds
        self.asked: list[float] = []

    def exchange(self, round_: Any) -> Any:
        self.asked.append(self.clock.t)
        if len(self.asked) <= self.rounds:
            raise FlowUnavailable("the store is away")
        return self.ledger.exchange(round_)

    def serve_as(self, worker_id: str) -> None:
        self.ledger.serve_as(worker_id)

    def close(self) -> None:
        self.ledger.close()


async def test_a_long_outage_of_the_ledger_is_waited_out_backing_off() -> None:
    clock = FakeClock()
    settings = FlowConfig(max_in_flight=2, rate_per_s=5.0)  # shared: polled while calls wait
    away = AwayLedger(MemoryLedger(settings, clock.monotonic), clock, rounds=1500)
    control = FlowControl(settings, clock, away)
    calls = queue(control, "A", n=3)
    for _ in range(10 * away.rounds):  # a long outage, with wakes from other calls
        if len(away.asked) > away.rounds:
            break
        await settle()
        queue(control, "B")[0].cancel()
        clock.advance(0.05 if len(away.asked) < 10 else 1.0)
    await settle()
    assert len(away.asked) > away.rounds, "flow control stopped asking its ledger"
    gaps = [b - a for a, b in itertools.pairwise(away.asked[: away.rounds + 1])]
    assert all(0.4 <= gap <= 6.0 for gap in gaps) and min(gaps[5:]) >= 5.0, gaps[:12]
    assert sum(t.done() for t in calls) == 2  # served once the store is back
    for task in calls:
        task.cancel()
    await control.close()


def test_the_limit_is_published_before_any_call() -> None:
    """A worker with a cap that has made no call yet showed `regflow_api_limit 0`."""
    from infrastructure.flow import metrics

    for cap in (4, 2):
        flow(FakeClock(), max_in_flight=cap, local_max=32)
        assert metrics.api_limit._value.get() == cap


TIMED_OUT = CallOutcome(ok=False, transient=True, error="timed out")


async def test_calls_stalled_on_a_hung_endpoint_do_not_hold_every_place_of_the_limit() -> None:
    """One endpoint hangs: its calls wait out a 30 s timeout each, the first timeout cuts the
    limit to about the calls in flight, and those hung calls held every place: no other job
    made a call until they timed out. A call in flight far longer than calls take is stalled
    and leaves its place to a waiting call; the limit's maximum still bounds them all."""
    clock = FakeClock()
    control = flow(clock, local_max=6, initial_limit=4)
    [quick] = queue(control, "A", "menuImport")
    await settle()
    control.release(quick.result(), OK, 0.05)  # calls take 50 ms
    hung = queue(control, "A", "uploadImages", n=4)
    await settle()
    assert all(t.done() for t in hung)
    clock.advance(30.0)
    control.release(hung[0].result(), TIMED_OUT, 30.0)  # one timed out; three still hang
    assert control.limit == 3
    healthy = queue(control, "B", "itemTags", n=6)
    await settle()
    assert sum(t.done() for t in healthy) == 3  # the maximum, 6, less the three hung
    assert len(control.held) == 6
    await control.close()


async def test_a_call_becomes_stalled_in_time_and_a_waiting_call_takes_its_place() -> None:
    clock = FakeClock()
    control = flow(clock, local_max=4, initial_limit=2)
    [quick] = queue(control, "A", "menuImport")
    await settle()
    control.release(quick.result(), OK, 0.05)  # calls take 50 ms; the limit grows to 3
    slow = queue(control, "A", "uploadImages", n=control.limit)
    await settle()
    waiting = queue(control, "B", "itemTags")
    await settle()
    assert all(t.done() for t in slow) and not waiting[0].done()
    clock.advance(0.9)  # young calls hold their places: they may answer yet
    await settle()
    assert not waiting[0].done()
    clock.advance(0.2)  # in flight more than a second, twenty times as long as calls take
    for _ in range(4):
        await settle()
    assert waiting[0].done()
    await control.close()
