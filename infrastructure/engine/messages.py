"""What a job runner hears about: call slots granted, outcomes, wake-ups, a lost lease."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.job import RegistrationJob
from infrastructure.engine.clock import Clock
from infrastructure.executors.port import CallOutcome


@dataclass(frozen=True)
class Granted:
    """A call slot (and, in an outage, the probe) is ours for one attempt of `key`."""

    key: str
    probe: bool


@dataclass(frozen=True)
class Answered:
    """The call of `key` came back."""

    key: str
    outcome: CallOutcome
    probe: bool
    seconds: float


@dataclass(frozen=True)
class Wake:
    """Something may have changed in the store (cancel, retry-now, edits)."""


@dataclass(frozen=True)
class Lost:
    """Our lease on the job is gone: stop at once."""


@dataclass(frozen=True)
class Broke:
    """A call raised an error that is not transient (a bug): the job's run must end."""

    error: Exception


Message = Granted | Answered | Wake | Lost | Broke


class Mailbox(Protocol):
    """Where a job's messages are put, and taken back unread when its run ends."""

    def put_nowait(self, message: Message) -> None: ...

    def empty(self) -> bool: ...

    def get_nowait(self) -> Message: ...


# A timer ringing this much later than asked is kept rather than made again.
SOONER = 0.001


class Inbox:
    """A job runner's messages, and its one wait: for the next message or a time on the clock.

    The timer is kept from one wait to the next while it rings no later than asked (a runner
    asks for the same next look at the store for many turns), and a message wakes the waiting
    runner through one future: a task for the queue's get and one for the timer, made and
    cancelled on every turn of the runner, cost some 13 µs a turn, 23 turns a job.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._messages: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._rings_at = float("inf")

    def put_nowait(self, message: Message) -> None:
        self._messages.append(message)
        self._wake()

    def empty(self) -> bool:
        return not self._messages

    def get_nowait(self) -> Message:
        return self._messages.popleft()

    def drain(self) -> list[Message]:
        """Every message waiting, oldest first."""
        messages = list(self._messages)
        self._messages.clear()
        return messages

    async def wait(self, seconds: float) -> None:
        """Until a message is waiting or `seconds` have passed on the clock (a ring of an
        earlier timer may end it sooner: the caller looks again and waits again)."""
        if self._messages:
            return
        rings_at = self._clock.monotonic() + seconds
        if self._timer is None or self._timer.done() or rings_at < self._rings_at - SOONER:
            self.close()
            self._rings_at = rings_at
            self._timer = asyncio.ensure_future(self._ring(seconds))
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    async def _ring(self, seconds: float) -> None:
        await self._clock.sleep(seconds)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        """Stop the timer (the runner's run is over, or it asks for a sooner one)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._rings_at = float("inf")


@dataclass
class Step:
    """A command applied to the job, and what to do once its events are stored."""

    command: Callable[[RegistrationJob], Any]
    after: Callable[[Any], None] | None = None
    dropped: Callable[[], None] | None = None
    result: Any = None


class RetryClock:
    """When each waiting sub-step is due, on the engine's clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._due: dict[str, tuple[datetime | None, float]] = {}

    def set(self, key: str, retry_at: datetime | None, delay: float) -> None:
        self._due[key] = (retry_at, self._clock.monotonic() + delay)

    def due(self, key: str, retry_at: datetime | None) -> float:
        """When `key` may run; a changed retry_at (retry-now, interruption) is taken afresh."""
        known = self._due.get(key)
        if known is not None and known[0] == retry_at:
            return known[1]
        remaining = 0.0
        if retry_at is not None:
            remaining = max(0.0, (retry_at - self._clock.now()).total_seconds())
        self.set(key, retry_at, remaining)
        return self._due[key][1]
