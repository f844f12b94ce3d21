"""The engine's access to the store: a bounded thread pool and group commit of job events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from eventsourcing.persistence import IntegrityError

from domain.job import RegistrationJob
from infrastructure import metrics
from infrastructure.errors import is_transient_exception
from infrastructure.usecases.store import RegistrationStore

T = TypeVar("T")
log = logging.getLogger("regflow.engine")


class PendingEvents:
    """Events taken from an aggregate, kept so a failed group can be saved again one by one."""

    def __init__(self, events: Sequence[Any]) -> None:
        self.events = list(events)
        self.version = self.events[-1].originator_version

    def collect_events(self) -> list[Any]:
        return list(self.events)


class StoreGateway:
    """Runs the synchronous store in a bounded pool of threads."""

    def __init__(self, app: RegistrationStore, threads: int = 4) -> None:
        self.app = app
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="regflow-store")

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in a store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(function, *args))

    async def load(self, job_id: str) -> RegistrationJob:
        return await self.run(self.app.job, job_id)

    async def landed(self, pending: PendingEvents) -> bool:
        """Whether events whose save failed were stored after all."""
        return await self.run(self.app.was_stored, pending.events)

    async def has_news(self, job: RegistrationJob) -> bool:
        """Whether the stored job moved past the version held in memory."""
        select = self.app.recorder.select_events
        found = await self.run(lambda: select(job.id, gt=job.version, limit=1))
        return bool(found)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class GroupCommitter:
    """Saves the events of jobs that are ready together in one transaction."""

    def __init__(self, gateway: StoreGateway) -> None:
        self._gateway = gateway
        self._queue: list[tuple[PendingEvents, asyncio.Future[None]]] = []
        self._ready = asyncio.Event()
        self.commits = 0
        self.events = 0

    async def commit(self, pending: PendingEvents) -> None:
        """Store `pending`; raises IntegrityError or the storage error when it was not saved."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((pending, future))
        self._ready.set()
        await future

    async def run(self) -> None:
        """Flush whatever is queued, one transaction at a time, until cancelled."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._queue = self._queue, []
            if batch:
                await self._flush(batch)

    async def _flush(self, batch: list[tuple[PendingEvents, asyncio.Future[None]]]) -> None:
        metrics.commit_jobs.observe(len(batch))
        try:
            await self._gateway.run(self._gateway.app.store, *(p for p, _ in batch))
        except IntegrityError:
            if len(batch) == 1:
                _settle(batch, IntegrityError("stale job version"))
                return
            log.info("a group of %d saves met a stale job; saving them one by one", len(batch))
            for item in batch:
                await self._flush([item])
            return
        except Exception as exc:
            metrics.commits.labels(result="error").inc()
            if len(batch) > 1 and not is_transient_exception(exc):
                log.info("a group of %d saves broke; saving them one by one", len(batch))
                for item in batch:
                    await self._flush([item])
                return
            _settle(batch, exc)
            return
        metrics.commits.labels(result="ok").inc()
        self.commits += 1
        self.events += sum(len(p.events) for p, _ in batch)
        _settle(batch, None)


def _settle(
    batch: list[tuple[PendingEvents, asyncio.Future[None]]], error: Exception | None
) -> None:
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
