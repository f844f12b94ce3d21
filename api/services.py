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

from api.answer_cache import JobAnswerCache
from api.presenters import JobAnswer, job_answer
from domain.exceptions import BatchNotFound, JobNotFound, RegflowError
from infrastructure.flow.waiting_jobs import shared_waiting_job_ids
from infrastructure.settings import Settings
from infrastructure.usecases.editing import EditOutcome
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.store import as_uuid
from projections.database import read_connections

T = TypeVar("T")
log = logging.getLogger("regflow.api")
SETTLE_TIMEOUT = 5.0


class ReadModels(Protocol):
    """The read-model service as the API uses it."""

    def start(self) -> Any: ...
    def stop(self) -> Any: ...
    def wait_for(self, position: int, timeout: float = ...) -> Any: ...
    def lag(self) -> Any: ...
    def job_progress(self, job_id: Any) -> Any: ...
    def job_summaries(self, batch_id: Any) -> Any: ...
    def batch_summary(self, batch_id: Any) -> Any: ...
    def list_batches(self, organisation_id: str, limit: int, offset: int) -> Any: ...
    def job_page(self, batch_id: Any, limit: int, after: Any, status: Any, q: Any) -> Any: ...
    def batch_tag(self, batch_id: Any) -> Any: ...
    def batch_sub_steps(self, batch_id: Any) -> Any: ...
    def count_in_batch(self, batch_id: Any, job_ids: Any) -> Any: ...
    def timeline(self, job_id: Any, after_version: int = ..., limit: int = ...) -> Any: ...
    def positions(self) -> Any: ...
    def watch(self, watcher: Any) -> Any: ...
    def run_here(self) -> bool: ...


class Waker(Protocol):
    """An engine running in this process."""

    def wake(self, job_ids: Iterable[Any]) -> Any: ...


class CapacityView(Protocol):
    """Flow control of an engine in this process: which jobs wait for API capacity here."""

    def waiting_job_ids(self) -> set[str]: ...


def pool_size(settings: Settings) -> int:
    """Threads for blocking calls: enough to keep the database pools busy, no more."""
    return read_connections(settings)


@dataclass
class Services:
    """The process's resources, filled in while the app starts."""

    settings: Settings
    registrations: Registrations | None = None
    read_models: ReadModels | None = None
    engine: Waker | None = None
    flow: CapacityView | None = None
    pool: ThreadPoolExecutor | None = None
    answers: JobAnswerCache[JobAnswer] = field(default_factory=JobAnswerCache)

    @property
    def app(self) -> Registrations:
        if self.registrations is None:
            raise RuntimeError("the application store is not started")
        return self.registrations

    @property
    def views(self) -> ReadModels:
        if self.read_models is None:
            raise RuntimeError("the read models are not started")
        return self.read_models

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call on the pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.pool, functools.partial(contextvars.copy_context().run, fn, *args)
        )

    async def edit(self, *args: Any) -> EditOutcome:
        """Run a manual edit; one it refused is readable in the views before the error answers.
        The edit and the wait for the views run in one call on the pool: the thread that saved
        waits, with no hop through the event loop between the two."""
        return await self.run(self._edit_and_settle, *args)

    def _edit_and_settle(self, *args: Any) -> EditOutcome:
        try:
            outcome = self.app.edit(*args)
        except RegflowError as exc:
            self._settle(exc.recorded_position, SETTLE_TIMEOUT)
            raise
        self._settle(outcome.position, SETTLE_TIMEOUT)
        return outcome

    async def settle(self, position: int, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait (bounded) until the read models have applied the log up to `position`."""
        if self.read_models is not None and position > 0:
            await self.run(self._settle, position, timeout)

    def _settle(self, position: int, timeout: float) -> None:
        if self.read_models is None or position <= 0:
            return
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

    @staticmethod
    def waiting_for_capacity(
        jobs: Iterable[dict[str, Any]], waiting: frozenset[str]
    ) -> list[dict[str, Any]]:
        """Job summaries, each marked whether a call of it waits for API capacity."""
        return [
            j | {"waiting_for_capacity": str(j.get("id") or j.get("job_id")) in waiting}
            for j in jobs
        ]

    async def waiting_in_batch(self, batch_id: str, waiting: frozenset[str] | None = None) -> int:
        """How many of the batch's jobs wait for API capacity (`waiting`: those that do, when
        already read)."""
        if waiting is None:
            waiting = await self.waiting_jobs()
        return await self.run(self.views.count_in_batch, batch_id, waiting) if waiting else 0

    async def batch_counters(self, summary: dict[str, Any]) -> dict[str, Any]:
        """A batch summary with the whole batch's sub-step counts and jobs waiting for capacity."""
        sub_steps = await self.run(self.views.batch_sub_steps, summary["id"])
        waiting = await self.waiting_in_batch(summary["id"])
        return summary | {"sub_steps": sub_steps, "waiting_for_capacity": waiting}

    async def job_view(self, organisation_id: str, job_id: str) -> dict[str, Any]:
        """The job's read model, if it belongs to the organisation; else JobNotFound."""
        return await self._owned(self.views.job_progress, organisation_id, job_id, JobNotFound)

    async def job_answer(self, organisation_id: str, job_id: str) -> JobAnswer:
        """GET /jobs/{id}'s answer, if the job belongs to the organisation; else JobNotFound.

        Kept in memory while this process runs the views, which drop it when the job changes.
        """
        key = as_uuid(job_id, JobNotFound)
        cache = self.answers if self.views.run_here() else None
        found = cache.get(key) if cache is not None else None
        if found is None:
            found = await self.run(self._read_answer, key, cache)
        if found is None or found[0] != organisation_id:
            raise JobNotFound(job_id)
        return found[1]

    def _read_answer(
        self, key: Any, cache: JobAnswerCache[JobAnswer] | None
    ) -> tuple[str, JobAnswer] | None:
        ticket = cache.ticket() if cache is not None else 0
        row = self.views.job_progress(key)
        if not row:
            return None
        organisation_id, answer = str(row.get("organisation_id")), job_answer(row)
        if cache is not None:
            cache.put(key, organisation_id, answer, ticket)
        return organisation_id, answer

    async def batch_view(self, organisation_id: str, batch_id: str) -> dict[str, Any]:
        """The batch's summary, if it belongs to the organisation; else BatchNotFound."""
        return await self._owned(self.views.batch_summary, organisation_id, batch_id, BatchNotFound)

    async def _owned(
        self,
        read: Callable[[Any], dict[str, Any] | None],
        organisation_id: str,
        key: str,
        not_found: Callable[[object], RegflowError],
    ) -> dict[str, Any]:
        """The row `read` finds under `key`, if it belongs to the organisation; else `not_found`."""
        row = await self.run(read, as_uuid(key, not_found))
        if not row or str(row.get("organisation_id")) != organisation_id:
            raise not_found(key)
        return dict(row)


SERVICES = web.AppKey("services", Services)


def services_of(request: web.Request) -> Services:
    """The services of the app that received `request`."""
    return request.app[SERVICES]
