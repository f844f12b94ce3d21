"""A job runner's inbox: a message ends its wait at once, and a wait is never late.

The inbox keeps its timer from one wait to the next while that timer rings no later than
asked; these tests drive arbitrary waits and messages on simulated time and hold it to that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.engine.messages import SOONER, Granted, Inbox, Wake
from simulation.loop import SimulatedClock, SimulatedLoop


def on_simulated_time(test: Callable[[SimulatedClock], Awaitable[Any]]) -> Any:
    loop = SimulatedLoop()
    try:
        return loop.run_until_complete(test(SimulatedClock(loop)))
    finally:
        loop.close()


def test_a_message_put_while_waiting_ends_the_wait_at_once() -> None:
    async def scenario(clock: SimulatedClock) -> None:
        inbox = Inbox(clock)
        asyncio.get_running_loop().call_later(2.5, inbox.put_nowait, Wake())
        await inbox.wait(60)
        assert clock.monotonic() == 2.5
        assert inbox.drain() == [Wake()]
        inbox.close()

    on_simulated_time(scenario)


def test_a_wait_with_a_message_already_there_does_not_wait() -> None:
    async def scenario(clock: SimulatedClock) -> None:
        inbox = Inbox(clock)
        inbox.put_nowait(Wake())
        await inbox.wait(60)
        assert clock.monotonic() == 0.0

    on_simulated_time(scenario)


def test_a_sooner_time_asked_after_a_later_one_is_kept() -> None:
    """A retry due in 1 s, asked while the timer of a 30 s look at the store is kept: the
    runner wakes at 1 s, not at 30."""

    async def scenario(clock: SimulatedClock) -> None:
        inbox = Inbox(clock)
        asyncio.get_running_loop().call_later(0.5, inbox.put_nowait, Wake())
        await inbox.wait(30)
        inbox.drain()
        await inbox.wait(1)
        assert clock.monotonic() == 1.5
        inbox.close()

    on_simulated_time(scenario)


def test_closing_stops_the_timer() -> None:
    async def scenario(clock: SimulatedClock) -> None:
        inbox = Inbox(clock)
        asyncio.get_running_loop().call_later(0.1, inbox.put_nowait, Wake())
        await inbox.wait(30)
        inbox.close()
        await asyncio.sleep(0)
        others = asyncio.all_tasks() - {asyncio.current_task()}
        assert all(task.done() for task in others)

    on_simulated_time(scenario)


turns = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=50, allow_nan=False),
        st.none() | st.floats(min_value=0, max_value=60, allow_nan=False),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(turns=turns)
def test_no_wait_ends_later_than_asked_or_loses_a_message(
    turns: list[tuple[float, float | None]],
) -> None:
    """Each turn waits `seconds`, with a message arriving after `arrives` (or none): the wait
    ends by the sooner of the two, and every message put is drained once, in order."""

    async def scenario(clock: SimulatedClock) -> None:
        inbox, loop = Inbox(clock), asyncio.get_running_loop()
        sent: list[Granted] = []
        received: list[Any] = []
        for number, (seconds, arrives) in enumerate(turns):
            began = clock.monotonic()
            if arrives is not None:
                message = Granted(f"step-{number}", probe=bool(number % 2))
                sent.append(message)
                loop.call_later(arrives, inbox.put_nowait, message)
            await inbox.wait(seconds)
            due = seconds if arrives is None else min(seconds, arrives)
            assert clock.monotonic() <= began + due + SOONER
            received += inbox.drain()
            if arrives is not None and arrives > clock.monotonic() - began:
                await asyncio.sleep(arrives - (clock.monotonic() - began))
                received += inbox.drain()
        await asyncio.sleep(0)
        received += inbox.drain()
        inbox.close()
        assert received == sent

    on_simulated_time(scenario)
