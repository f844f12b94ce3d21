"""One watcher per process pushes batches' progress counters to every open stream.

The watcher reads the views' position, the log's head and which jobs wait for API capacity (in
this process, and on PostgreSQL in any worker's record: three small queries per tick, however
many clients); only when one moves does it read the counters of the batches someone watches
(a few queries per batch, not per client; as of the log, so a change the views have not
applied yet is pushed too) and hand changed counters to their subscribers. A subscriber holds
only the latest counters, so a slow client never makes memory grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from api.services import SERVICES
from infrastructure.errors import is_transient_exception

log = logging.getLogger("regflow.api")
TICK_SECONDS = 0.25
COUNTERS = ("status", "total", "completed", "failed", "in_progress", "pending", "cancelled")
FIELDS = (*COUNTERS, "percent", "updated_at", "sub_steps", "waiting_for_capacity")
Counters = dict[str, Any]


def counters_of(summary: dict[str, Any]) -> Counters:
    """What a stream sends of a batch summary."""
    return {"batch_id": summary["id"]} | {k: summary.get(k) for k in FIELDS}


class Subscription:
    """One client's view of one batch: the latest counters not yet sent, if any."""

    def __init__(self) -> None:
        self.latest: Counters | None = None
        self.changed = asyncio.Event()
        self.closed = False

    def offer(self, counters: Counters) -> None:
        self.latest = counters
        self.changed.set()

    def close(self) -> None:
        self.closed = True
        self.changed.set()

    async def next(self, timeout: float) -> Counters | None:
        """The next counters, or None when `timeout` passes first (or the hub closed)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout)
        self.changed.clear()
        latest, self.latest = self.latest, None
        return latest


class ProgressHub:
    """Watches the views' position for every stream of this process."""

    def __init__(
        self,
        position: Callable[[], Awaitable[object]],
        summary: Callable[[str], Awaitable[dict[str, Any] | None]],
        tick: float = TICK_SECONDS,
    ) -> None:
        self._position = position
        self._summary = summary
        self._tick = tick
        self._watchers: dict[str, set[Subscription]] = {}
        self._sent: dict[str, Counters] = {}
        self._task: asyncio.Task[None] | None = None
        self.reads = 0

    @contextlib.asynccontextmanager
    async def subscribe(self, batch_id: str, current: Counters) -> AsyncIterator[Subscription]:
        """Follow one batch, starting from the counters the client was just sent."""
        subscription = Subscription()
        self._watchers.setdefault(batch_id, set()).add(subscription)
        self._sent.setdefault(batch_id, current)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._watch())
        try:
            yield subscription
        finally:
            watchers = self._watchers.get(batch_id, set())
            watchers.discard(subscription)
            if not watchers:
                self._watchers.pop(batch_id, None)
                self._sent.pop(batch_id, None)

    @property
    def subscribers(self) -> int:
        return sum(len(s) for s in self._watchers.values())

    async def _watch(self) -> None:
        seen: object = None
        while self._watchers:
            try:
                position = await self._position()
                if position != seen:
                    seen = position
                    await self._publish()
            except Exception as exc:
                if not is_transient_exception(exc):
                    raise
                log.warning("progress watcher: storage unavailable (%s); trying again", exc)
            await asyncio.sleep(self._tick)

    async def _publish(self) -> None:
        for batch_id in list(self._watchers):
            summary = await self._summary(batch_id)
            self.reads += 1
            if summary is None:
                continue
            counters = counters_of(summary)
            if counters != self._sent.get(batch_id):
                self._sent[batch_id] = counters
                for subscription in list(self._watchers.get(batch_id, ())):
                    subscription.offer(counters)

    async def close(self) -> None:
        """End every stream (the server is stopping)."""
        for watchers in self._watchers.values():
            for subscription in watchers:
                subscription.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


HUB = web.AppKey("progress_hub", ProgressHub)


async def open_progress_hub(app: web.Application) -> AsyncIterator[None]:
    """The process's hub, reading positions and counters on the services' pool."""
    services = app[SERVICES]

    async def position() -> object:
        # The log's head too: while the views are held up, what the log holds is read folded.
        positions = await services.run(services.views.positions)
        head = await services.run(services.app.recorder.max_notification_id)
        return min(positions.values()) if positions else 0, head, await services.waiting_jobs()

    async def summary(batch_id: str) -> dict[str, Any] | None:
        return await services.batch_counters(batch_id)

    app[HUB] = ProgressHub(position, summary)
    yield
    await app[HUB].close()


async def end_streams(app: web.Application) -> None:
    """On shutdown, let open streams finish so the server can stop promptly."""
    if HUB in app:
        await app[HUB].close()
