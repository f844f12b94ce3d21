"""The engine's one view of time: monotonic time, wall time and sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Protocol


class Clock(Protocol):
    """Monotonic time, wall time and sleep: the only way the engine sees time."""

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


async def wait_for_event(event: asyncio.Event, seconds: float, clock: Clock) -> bool:
    """Wait until `event` is set or `seconds` pass on `clock`; True when it is set."""
    return await first_of([event.wait()], seconds, clock) or event.is_set()


async def first_of(waits: list[Awaitable[object]], seconds: float, clock: Clock) -> bool:
    """Wait for the first of the coroutines `waits` or `seconds`; True when one ended first.

    Whatever is still waiting is cancelled.
    """
    tasks = [asyncio.ensure_future(w) for w in waits]
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        done, _ = await asyncio.wait([*tasks, timer], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*tasks, timer):
            task.cancel()
    return any(task in done for task in tasks)


async def wait_all(tasks: list[asyncio.Task[Any]], seconds: float, clock: Clock) -> None:
    """Wait until every one of `tasks` is done or `seconds` pass; the tasks are left running."""
    timer = asyncio.ensure_future(clock.sleep(seconds))
    gathered = asyncio.ensure_future(asyncio.wait(tasks))
    try:
        await asyncio.wait([gathered, timer], return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        gathered.cancel()
