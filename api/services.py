"""What handlers call: the use-case layer and read models on a bounded thread pool."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from aiohttp import web

from api.admission import WaitingCalls, in_refusable_request
from api.answer_cache import JobAnswerCache
from api.current_answers import CurrentAnswers, ReadModels
from api.latest_versions import LatestVersions
from api.page_cursors import PageCursors
from api.presenters import JobAnswer
from domain.exceptions import RegflowError
from infrastructure.flow.waiting_jobs import shared_waiting_job_ids
from infrastructure.settings import Settings
from infrastructure.usecases.editing import EditOutcome
from infrastructure.usecases.registrations import Registrations
from projections.database import read_connections
from projections.log_reads import LatestOnLoop

T = TypeVar("T")
log = logging.getLogger("regflow.api")
SETTLE_TIMEOUT = 5.0


class Waker(Protocol):
    """An engine running in this process."""

    def wake(self, job_ids: Iterable[Any]) -> Any: ...


class CapacityView(Protocol):
    """Flow control of an engine in this process: which jobs wait for API capacity here."""

    def waiting_job_ids(self) -> set[str]: ...


THREADS_PER_READ_CONNECTION = 2


def pool_size(settings: Settings) -> int:
    """Threads for blocking calls: enough to keep the database pools busy. An edit's thread
    waits for the views to apply it (read-your-writes) holding no connection, so twice as many
    threads as read connections: with one each, under load the connections sat idle while
    their threads waited (50 clients editing: about a quarter more edits a second measured with
    twice; the pools, not the threads, bound the connections a process holds)."""
    return THREADS_PER_READ_CONNECTION * read_connections(settings)


@dataclass
class Services(CurrentAnswers):
    """The process's resources, filled in while the app starts."""

    settings: Settings
    registrations: Registrations | None = None
    read_models: ReadModels | None = None
    engine: Waker | None = None
    flow: CapacityView | None = None
    pool: ThreadPoolExecutor | None = None
    waiting: WaitingCalls | None = None  # the calls handed to the pool that no thread took yet
    answers: JobAnswerCache[JobAnswer] = field(default_factory=JobAnswerCache)
    # How long a command waits for the views to apply it before it answers anyway: reads are
    # right without the wait (they fold what the views lack), it only spares them the folding.
    settle_timeout: float = SETTLE_TIMEOUT
    latest: LatestVersions | None = None  # set while the read models are open
    # The views' lag as a metrics scrape reads it: one read at a time, however many scrapes
    # wait for it (a store that does not answer holds one thread, not one per scrape).
    lag_reading: asyncio.Future[Any] | None = None

    def open_latest(self) -> LatestVersions:
        """Lookups of jobs' latest versions in the log, concurrent ones sharing a query: on
        PostgreSQL on a connection of the event loop's own, on SQLite on the pool."""
        if self.settings.is_postgres:
            on_loop = LatestOnLoop(self.settings)
            self.latest = LatestVersions(on_loop.latest_versions, on_loop.close)
        else:
            self.latest = LatestVersions(lambda ids: self.run(self.views.latest_versions, ids))
        return self.latest

    @property
    def app(self) -> Registrations:
        if self.registrations is None:
            raise RuntimeError("the application store is not started")
        return self.registrations

    @property
    def page_cursors(self) -> PageCursors:
        """Cursors sealed with the store's cursor key: every process of the store reads them."""
        return PageCursors(self.app.cursor_key)

    @property
    def views(self) -> ReadModels:
        if self.read_models is None:
            raise RuntimeError("the read models are not started")
        return self.read_models

    async def run(self, fn: Callable[..., T], *args: Any, refusable: bool = True) -> T:
        """Run a blocking call on the pool, counted as waiting until a thread takes it up. A call
        of an API request that waits too long for a thread is not run (`api.admission`), unless
        not `refusable`: a call made after its request wrote."""
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        if self.waiting is None:
            return await loop.run_in_executor(self.pool, call)
        taken_up, count_out = self.waiting.counted(call)
        try:
            if refusable and self.pool is not None and in_refusable_request():
                return await self.waiting.taken_in_time(self.pool, taken_up)
            return await loop.run_in_executor(self.pool, taken_up)
        finally:
            count_out()  # if no thread took it up: the caller stopped waiting for it

    async def edit(self, *args: Any) -> EditOutcome:
        """Run a manual edit; one it refused is readable in the views before the error answers.
        The edit and the wait for the views run in one call on the pool: the thread that saved
        waits, with no hop through the event loop between the two."""
        return await self.run(self._edit_and_settle, *args)

    def _edit_and_settle(self, *args: Any) -> EditOutcome:
        try:
            outcome = self.app.edit(*args)
        except RegflowError as exc:
            self._settle(exc.recorded_position, self.settle_timeout)
            raise
        self._settle(outcome.position, self.settle_timeout)
        return outcome

    async def settle(self, position: int, timeout: float | None = None) -> None:
        """Wait (bounded: `timeout`, by default `settle_timeout`) until the read models have
        applied the log up to `position`."""
        if self.read_models is not None and position > 0:
            timeout = timeout or self.settle_timeout
            await self.run(self._settle, position, timeout, refusable=False)

    def _settle(self, position: int, timeout: float) -> None:
        if self.read_models is None or position <= 0:
            return
        if self.read_models.fold_problems():
            return  # rebuilt here from the log now, or refused here: not worth a wait
        if self.read_models.wait_for(position, timeout) is False:
            log.warning("read models did not reach position %d within %ss", position, timeout)

    def wake(self, job_ids: Iterable[Any]) -> None:
        """Tell an in-process engine that these jobs have work."""
        ids = [str(j) for j in job_ids]
        if self.engine is not None and ids:
            self.engine.wake(ids)

    async def waiting_jobs(self) -> frozenset[str]:
        """Jobs with a call waiting for API capacity: in this process's flow control and, on
        PostgreSQL, in any worker's, as their ledgers record them (one query), so a process
        serving the API apart from the workers counts their waiting calls too."""
        here = self.flow.waiting_job_ids() if self.flow is not None else set()
        if not self.settings.is_postgres:
            return frozenset(here)
        shared = await self.run(shared_waiting_job_ids, self.app.recorder)
        return frozenset(here | shared)


SERVICES = web.AppKey("services", Services)


def services_of(request: web.Request) -> Services:
    """The services of the app that received `request`."""
    return request.app[SERVICES]
