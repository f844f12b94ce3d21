"""What handlers read, as of the log: each read reflects every command answered before it
began (SPEC §8), whether or not the views have applied it (`projections.current`).

`Services` reads through this class; the read models it needs are `ReadModels`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar
from uuid import UUID

from api.answer_cache import JobAnswerCache
from api.latest_versions import LatestVersions
from api.presenters import JobAnswer, job_answer
from domain.exceptions import BatchNotFound, JobNotFound
from infrastructure.usecases.store import as_uuid
from projections.current import JobNow
from projections.overlay import Reads

T = TypeVar("T")


class ReadModels(Protocol):
    """The read-model service as the API uses it."""

    def start(self) -> Any: ...
    def stop(self) -> Any: ...
    def wait_for(self, position: int, timeout: float = ...) -> Any: ...
    def lag(self) -> Any: ...
    def fold_problems(self) -> list[str]: ...
    def job_progress(self, job_id: Any) -> Any: ...
    def job_now(self, job_id: UUID) -> JobNow | None: ...
    def timeline_now(self, found: JobNow, after_version: int = ..., limit: int = ...) -> Any: ...
    def latest_versions(self, aggregate_ids: list[UUID]) -> dict[UUID, int]: ...
    def read_as_of_log(
        self,
        read: Callable[[Reads], T],
        batch_id: str | None = ...,
        organisation_id: str | None = ...,
    ) -> T: ...
    def positions(self) -> Any: ...
    def watch(self, watcher: Any) -> Any: ...
    def run_here(self) -> bool: ...


class CurrentAnswers:
    """The reads of jobs and batches the handlers call (a base of `Services`, which gives the
    read models, the pool, the kept answers and the lookups of jobs' latest versions)."""

    answers: JobAnswerCache[JobAnswer]
    latest: LatestVersions | None

    @property
    def views(self) -> ReadModels:
        raise NotImplementedError

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def waiting_jobs(self) -> frozenset[str]:
        raise NotImplementedError

    @staticmethod
    def waiting_for_capacity(
        jobs: Iterable[dict[str, Any]], waiting: frozenset[str]
    ) -> list[dict[str, Any]]:
        """Job summaries, each marked whether a call of it waits for API capacity."""
        return [
            j | {"waiting_for_capacity": str(j.get("id") or j.get("job_id")) in waiting}
            for j in jobs
        ]

    @staticmethod
    def waiting_in(reads: Reads, batch_id: str, waiting: frozenset[str]) -> int:
        """How many of the batch's jobs are among `waiting` (those that wait for API capacity)."""
        return int(reads.count_in_batch(batch_id, waiting)) if waiting else 0

    def counters(
        self, reads: Reads, summary: dict[str, Any], waiting: frozenset[str]
    ) -> dict[str, Any]:
        """A batch summary with the whole batch's sub-step counts and how many of its jobs
        wait for API capacity (`waiting`: the jobs that do)."""
        batch_id = summary["id"]
        sub_steps = reads.batch_sub_steps(batch_id)
        return summary | {
            "sub_steps": sub_steps,
            "waiting_for_capacity": self.waiting_in(reads, batch_id, waiting),
        }

    async def job_answer(self, organisation_id: str, job_id: str) -> JobAnswer:
        """GET /jobs/{id}'s answer, if the job belongs to the organisation; else JobNotFound.

        Kept in memory while this process runs the views, which drop it when the job changes;
        a kept answer is sent only while the log holds no newer version of the job.
        """
        key = as_uuid(job_id, JobNotFound)
        cache = self.answers if self.views.run_here() else None
        found = cache.get(key) if cache is not None else None
        if found is not None and found[1].version != await self._latest().of(key):
            found = None
        if found is None:
            found = await self.run(self._read_answer, key, cache)
        if found is None or found[0] != organisation_id:
            raise JobNotFound(job_id)
        return found[1]

    def _latest(self) -> LatestVersions:
        if self.latest is None:
            raise RuntimeError("the read models are not started")
        return self.latest

    def _read_answer(
        self, key: UUID, cache: JobAnswerCache[JobAnswer] | None
    ) -> tuple[str, JobAnswer] | None:
        ticket = cache.ticket() if cache is not None else 0
        found = self.views.job_now(key)
        if found is None:
            return None
        organisation_id, answer = str(found.row.get("organisation_id")), job_answer(found.row)
        if cache is not None:
            cache.put(key, organisation_id, answer, ticket)
        return organisation_id, answer

    async def job_events(
        self, organisation_id: str, job_id: str, after_version: int, limit: int
    ) -> list[dict[str, Any]]:
        """The job's audit entries after `after_version`, if it is the organisation's."""
        key = as_uuid(job_id, JobNotFound)
        found = await self.run(self._job_events, key, organisation_id, after_version, limit)
        if found is None:
            raise JobNotFound(job_id)
        return found

    def _job_events(
        self, key: UUID, organisation_id: str, after_version: int, limit: int
    ) -> list[dict[str, Any]] | None:
        found = self.views.job_now(key)
        if found is None or str(found.row.get("organisation_id")) != organisation_id:
            return None
        return list(self.views.timeline_now(found, after_version, limit))

    async def batch_reads(
        self, organisation_id: str, batch_id: str, read: Callable[[Reads, dict[str, Any]], T]
    ) -> T:
        """`read(queries, summary)` on the pool, the queries as of the log for the batch, if it
        belongs to the organisation; else BatchNotFound."""
        key = str(as_uuid(batch_id, BatchNotFound))

        def owned(reads: Reads) -> T:
            summary = reads.batch_summary(key)
            if not summary or str(summary.get("organisation_id")) != organisation_id:
                raise BatchNotFound(batch_id)
            return read(reads, dict(summary))

        return await self.run(self._as_of_log, owned, key, None)

    async def batch_counters(self, batch_id: str) -> dict[str, Any] | None:
        """The batch's summary with its counters (`counters`) as of the log, or None."""
        waiting = await self.waiting_jobs()

        def read(reads: Reads) -> dict[str, Any] | None:
            summary = reads.batch_summary(batch_id)
            return self.counters(reads, dict(summary), waiting) if summary else None

        return await self.run(self._as_of_log, read, batch_id, None)

    async def organisation_reads(self, organisation_id: str, read: Callable[[Reads], T]) -> T:
        """`read(queries)` on the pool, the queries as of the log for the organisation."""
        return await self.run(self._as_of_log, read, None, organisation_id)

    def _as_of_log(
        self, read: Callable[[Reads], T], batch_id: str | None, organisation_id: str | None
    ) -> T:
        return self.views.read_as_of_log(read, batch_id, organisation_id)
