"""Load shedding: a request to the API is refused at once while calls wait long for a thread.

Every blocking call of a request (a read of the views, an edit) runs on the process's bounded
pool of threads. Under a burst of dear reads, calls queue there without bound, and each request
is answered after its caller gave up, while the queue's CPU starves the views' runner, which
then falls behind the log and makes every read dearer. While a call would wait more than
`LONGEST_WAIT_SECONDS` for a thread (the calls waiting, each as long as calls took lately,
shared by the threads), or the call waiting longest has waited that long, or
`WAITING_PER_THREAD` calls per thread wait (a burst arriving before any of its calls was
timed), a new request to the API is answered `503` with `Retry-After` before it asks for
one: nothing it would have done is done, and a client retries as it does after any 503.
A burst that arrives at once, before any of its calls was timed, is taken in; then each of its
calls that waits `LONGEST_WAIT_SECONDS` for a thread is never run: its request is answered the
same `503` (a call that writes is its request's first to write, so nothing was done; the waits
for the views after a write are never refused).
Fifty cheap requests at once (operators' edits) wait milliseconds and are all taken; a burst
of dear reads is cut short.
Health, metrics, the console's files and background tasks (a stream's watcher) are never
refused.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from contextvars import ContextVar
from typing import TypeVar

from aiohttp import web

from api.errors import Busy, busy_answer

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LONGEST_WAIT_SECONDS = 1.0
# Calls waiting per thread at most: a burst arrives before any of its calls is timed. A request
# hands its calls over one after another, so fifty requests at once have at most fifty waiting.
WAITING_PER_THREAD = 8
RETRY_AFTER_SECONDS = 1
SMOOTHING = 0.2  # each call's share of the moving average of how long calls take
# How soon that average forgets what it learnt while no call waits or runs: an idle second
# halves it, so cheap calls after a burst of dear ones are not judged by those.
HALF_LIFE_SECONDS = 1.0
# The task of the API request being answered: a call made from it may be refused. A task the
# request starts inherits the variable but is another task, so its calls never are.
_REQUEST_TASK: ContextVar[asyncio.Task[object] | None] = ContextVar(
    "regflow_request_task", default=None
)


def in_refusable_request() -> bool:
    """Whether the running task answers an API request, whose calls may be refused."""
    task = asyncio.current_task()
    return task is not None and _REQUEST_TASK.get() is task


class WaitingCalls:
    """The calls handed to the pool and not yet taken up by one of its threads, oldest first.

    Each call is counted out exactly once: when a thread takes it up, or when its caller stops
    waiting for it before that (a cancelled request, whose call the pool then drops or runs)."""

    def __init__(
        self,
        threads: int,
        longest_wait: float = LONGEST_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threads = threads
        self.most = WAITING_PER_THREAD * threads
        self.longest_wait = longest_wait
        self._call_seconds = 0.0  # how long calls took lately (a moving average)
        self._running = 0
        self._idle_since: float | None = clock()  # when the last call ended, if none runs now
        self._clock = clock
        self._lock = threading.Lock()
        self._since: dict[int, float] = {}  # when each waiting call was handed over, in order
        self._numbers = itertools.count()

    @property
    def count(self) -> int:
        return len(self._since)

    def oldest_wait(self) -> float:
        """How long the call waiting longest has waited (0 when none waits)."""
        with self._lock:
            first = next(iter(self._since.values()), None)
        return 0.0 if first is None else self._clock() - first

    @property
    def call_seconds(self) -> float:
        """How long calls took lately: a moving average that halves with each second in which
        no call waited or ran."""
        if self._idle_since is None:
            return self._call_seconds
        idle = max(self._clock() - self._idle_since, 0.0)
        return self._call_seconds * 0.5 ** (idle / HALF_LIFE_SECONDS)

    def expected_wait(self) -> float:
        """How long a call handed over now would wait for a thread, as calls took lately."""
        return self.count * self.call_seconds / self.threads

    def full(self) -> bool:
        if self.count >= self.most or self.expected_wait() > self.longest_wait:
            return True
        return self.oldest_wait() > self.longest_wait

    def counted(self, call: Callable[[], T]) -> tuple[Callable[[], T], Callable[[], None]]:
        """`call` counted as waiting until a thread takes it up, and how to count it out if
        its caller stops waiting first (a second counting out does nothing)."""
        number = next(self._numbers)
        with self._lock:
            self._call_seconds, self._idle_since = self.call_seconds, None
            self._since[number] = self._clock()

        def count_out() -> None:
            with self._lock:
                self._since.pop(number, None)
                if not self._running and not self._since and self._idle_since is None:
                    self._idle_since = self._clock()  # given up before any thread took it

        def taken_up() -> T:
            with self._lock:
                self._running += 1
            count_out()
            started = self._clock()
            try:
                return call()
            finally:
                ended = self._clock()
                with self._lock:
                    self._call_seconds += SMOOTHING * (ended - started - self._call_seconds)
                    self._running -= 1
                    if not self._running and not self._since:
                        self._idle_since = ended

        return taken_up, count_out

    async def taken_in_time(self, pool: Executor, call: Callable[[], T]) -> T:
        """`call` run on `pool`, or never run (`Busy`) if no thread took it up within
        `longest_wait`: a thread takes a call or the call is cancelled, never both."""
        submitted = pool.submit(call)
        answer = asyncio.wrap_future(submitted)
        try:
            done, _ = await asyncio.wait({answer}, timeout=self.longest_wait)
        except asyncio.CancelledError:
            submitted.cancel()
            raise
        if not done and submitted.cancel():
            raise Busy(
                f"Busy: a call waited {self.longest_wait:g} s for this process's threads and was "
                f"not run ({self.count} calls wait); try again in {RETRY_AFTER_SECONDS} s",
                RETRY_AFTER_SECONDS,
            )
        return await answer

    def busy(self) -> Busy:
        """The refusal of a request while the calls waiting are full."""
        return Busy(
            f"Busy: {self.count} calls wait for this process's threads (about "
            f"{self.expected_wait():.1f} s of work); try again in {RETRY_AFTER_SECONDS} s",
            RETRY_AFTER_SECONDS,
        )


def admission_middleware(
    waiting: Callable[[], WaitingCalls | None], prefix: str
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Refuse requests under `prefix` (503, Retry-After) while `waiting()` is full."""

    @web.middleware
    async def admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        calls = waiting()
        if calls is None or not request.path.startswith(prefix):
            return await handler(request)
        if calls.full():
            return busy_answer(calls.busy())
        request_task = _REQUEST_TASK.set(asyncio.current_task())
        try:
            return await handler(request)
        finally:
            _REQUEST_TASK.reset(request_task)

    return admit
