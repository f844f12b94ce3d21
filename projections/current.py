"""Reads as of the log: what they show reflects every event stored before they began, whether
or not the views have applied it yet (SPEC section 8: a query sent after a command's answer
reflects that command, even while the views' writer is held up).

A read first asks the log, in one indexed query, whether the views hold everything it shows:
a job's latest version beside its row, or which aggregates have events past the views'
position (`projections.behind`: a bounded number of them; past that, the versions of what a
batch read shows, however far behind the views are). When they do (the normal case) it reads
them as it always did. When they do not, the jobs and batches it shows that are behind are
folded from the log by the views' own folds, and stand in for the views' rows in the same
queries (`projections.overlay`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar
from uuid import UUID

from domain.batch import RegistrationBatch
from domain.exceptions import JobNotFound
from domain.job import RegistrationJob
from infrastructure.metrics import counter
from infrastructure.usecases.registrations import Registrations
from projections.behind import Behind
from projections.database import Database
from projections.folds.batches import batch_row_of
from projections.folds.jobs import job_row
from projections.folds.timeline import timeline_entry
from projections.job_view import JOB_COLUMNS, job_values
from projections.jsontext import loads
from projections.log_reads import LogTable
from projections.overlay import Reads, overlaid
from projections.queries import progress_of
from projections.schema import Schema
from projections.views import TIMELINE_COLUMNS, batch_values, timeline_values

T = TypeVar("T")
FOLDED = "Reads answered with rows folded from the log: the views had not applied what they show."
reads_folded = counter("reads_folded_total", FOLDED, "read")


@dataclass(frozen=True)
class JobNow:
    """A job's row with its `sub_step_progress` as of the log; `folded`: the views had not
    applied its latest events, so it was folded from the log (and so is its timeline)."""

    row: dict[str, Any]
    folded: bool


class CurrentReads:
    """The views' reads as of the log, for a class that holds the views and the store."""

    db: Database
    schema: Schema
    app: Registrations

    @cached_property
    def log_table(self) -> LogTable:
        return LogTable(self.db)

    def latest_versions(self, aggregate_ids: list[UUID]) -> dict[UUID, int]:
        """Each aggregate's latest version in the log, one query (for up to 500)."""
        return self.log_table.latest_versions(aggregate_ids)

    def job_now(self, job_id: UUID) -> JobNow | None:
        """The job's row as of the log, or None when there is no such job."""
        row = self.log_table.job_row_and_version(self.schema, job_id)
        if row is None or row["logged"] is None:
            return None
        logged = int(row.pop("logged"))
        if row["job_id"] is not None and int(row["version"]) >= logged:
            return JobNow(progress_of(row), folded=False)
        folded = self.job_from_log(job_id)
        reads_folded.labels("job").inc()
        return JobNow(folded, folded=True) if folded is not None else None

    def job_from_log(self, job_id: UUID) -> dict[str, Any] | None:
        """The job's row as the job view would hold it once it applied every event of the job
        in the log (as `ViewQueries.job_progress` reads it), or None when there is no such job."""
        try:
            job = self.app.job(job_id)
        except JobNotFound:
            return None
        return progress_of(dict(zip(JOB_COLUMNS, job_values(job_row(job)), strict=True)))

    def timeline_now(
        self, found: JobNow, after_version: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The job's audit entries after `after_version`, oldest first, as the timeline view
        holds them; read from the log when the job was (the views are behind on it)."""
        job_id = str(found.row["id"])
        if not found.folded:
            return Reads(self.db, self.schema).timeline(job_id, after_version, limit)
        events = self.app.events.get(UUID(job_id), gt=after_version, limit=limit)
        return [_timeline_row(event) for event in events]

    @cached_property
    def behind(self) -> Behind:
        return Behind(self.log_table, self.schema, self.app)

    def read_as_of_log(
        self,
        read: Callable[[Reads], T],
        batch_id: str | None = None,
        organisation_id: str | None = None,
    ) -> T:
        """`read` of the views' queries as of the log (`as_of_log`), run again from its start
        on another connection when the server had dropped the one it ran on."""

        def once() -> T:
            with self.as_of_log(batch_id, organisation_id) as reads:
                return read(reads)

        return self.db.again_if_dropped(once)

    @contextmanager
    def as_of_log(
        self, batch_id: str | None = None, organisation_id: str | None = None
    ) -> Iterator[Reads]:
        """The views' queries as of the log for one batch (or all an organisation's): the
        views themselves when they hold every event of its jobs and batches, else the views
        with those folded from the log in place of their rows."""
        loaded = self.behind.of_read(batch_id, organisation_id)
        if not loaded:
            yield Reads(self.db, self.schema)
            return
        jobs = [job_values(job_row(j)) for j in loaded if isinstance(j, RegistrationJob)]
        batches = [
            batch_values(batch_row_of(b)) for b in loaded if isinstance(b, RegistrationBatch)
        ]
        reads_folded.labels("batch" if batch_id is not None else "organisation").inc()
        with overlaid(self.db, self.schema, jobs, batches) as reads:
            yield reads


def _timeline_row(event: Any) -> dict[str, Any]:
    """A timeline entry of `event` as the timeline view's query gives it back."""
    stored = dict(zip(TIMELINE_COLUMNS, timeline_values(timeline_entry(event)), strict=True))
    del stored["job_id"]
    return stored | {"data": loads(stored["data"])}
