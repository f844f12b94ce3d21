"""Load shedding: a request to the API is refused at once while too many calls wait for a thread.

Every blocking call of a request (a read of the views, an edit) runs on the process's bounded
pool of threads. Under a burst, calls queue there without bound, and each request is answered
after its caller gave up, while the queue's CPU starves the views' runner, which then falls
behind the log and makes every read dearer. Past `WAITING_PER_THREAD` calls waiting per thread,
a new request to the API is answered `503` with `Retry-After` before it asks for a thread:
nothing it would have done is done, and a client retries as it does after any 503. Health,
metrics and the console's files are never refused.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from api.errors import failure

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Calls waiting per thread before requests are refused: a few turns of every thread.
WAITING_PER_THREAD = 4
RETRY_AFTER_SECONDS = 1


class WaitingCalls:
    """How many calls were handed to the pool and not yet taken up by one of its threads.

    Each call is counted out exactly once: when a thread takes it up, or when its caller stops
    waiting for it before that (a cancelled request, whose call the pool then drops or runs)."""

    def __init__(self, threads: int) -> None:
        self.most = WAITING_PER_THREAD * threads
        self._lock = threading.Lock()
        self._waiting = 0

    @property
    def count(self) -> int:
        return self._waiting

    def full(self) -> bool:
        return self._waiting >= self.most

    def counted(self, call: Callable[[], T]) -> tuple[Callable[[], T], Callable[[], None]]:
        """`call` counted as waiting until a thread takes it up, and how to count it out if
        its caller stops waiting first (a second counting out does nothing)."""
        with self._lock:
            self._waiting += 1
        taken = [False]

        def count_out() -> None:
            with self._lock:
                if not taken[0]:
                    taken[0] = True
                    self._waiting -= 1

        def taken_up() -> T:
            count_out()
            return call()

        return taken_up, count_out


def admission_middleware(
    waiting: Callable[[], WaitingCalls | None], prefix: str
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Refuse requests under `prefix` (503, Retry-After) while `waiting()` is full."""

    @web.middleware
    async def admit(request: web.Request, handler: Handler) -> web.StreamResponse:
        calls = waiting()
        if calls is None or not calls.full() or not request.path.startswith(prefix):
            return await handler(request)
        message = (
            f"Busy: {calls.count} calls already wait for this process's threads; "
            f"try again in {RETRY_AFTER_SECONDS} s"
        )
        response = failure(503, message)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    return admit
