"""The three views: each applies a run of events to its table inside the caller's transaction."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from domain.batch import RegistrationBatch
from domain.job import RegistrationJob
from projections.batches import batch_row
from projections.database import Database
from projections.folds import apply_event, iso, job_row
from projections.jsontext import dumps
from projections.schema import Schema
from projections.timeline import timeline_entry

JOB_TOPIC_PREFIX = "regflow:RegistrationJob."
JOB_CACHE_SIZE = 20_000
JOB_COLUMNS = (
    "job_id",
    "batch_id",
    "organisation_id",
    "name",
    "external_id",
    "restaurant",
    "status",
    "current_phase",
    "counts",
    "last_error",
    "version",
    "created_at",
    "updated_at",
    "progress",
)
TIMELINE_COLUMNS = ("job_id", "version", "type", "at", "actor", "reason", "description", "data")
BATCH_COLUMNS = (
    "batch_id",
    "organisation_id",
    "name",
    "created_by",
    "created_at",
    "total",
    "started",
    "version",
    "updated_at",
)
LoadJob = Callable[[UUID, int], RegistrationJob]


def is_job_event(event: Any) -> bool:
    """True for an event of a registration job (not of a batch)."""
    return _is_job_event_type(type(event))


@lru_cache(maxsize=256)
def _is_job_event_type(kind: type) -> bool:
    return str(getattr(kind, "TOPIC", "")).startswith(JOB_TOPIC_PREFIX)


def storable(values: Sequence[Any]) -> list[Any]:
    """Column values a text column accepts: PostgreSQL refuses NUL characters in text."""
    return [
        v.replace("\x00", "\ufffd") if isinstance(v, str) and "\x00" in v else v for v in values
    ]


def insert_sql(table: str, columns: Sequence[str], upsert_key: str | None = None) -> str:
    marks = ", ".join("?" for _ in columns)
    text = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    if upsert_key:
        sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c != upsert_key)
        text += f" ON CONFLICT ({upsert_key}) DO UPDATE SET {sets}"
    return text


class View(Protocol):
    """A read model: a name (its tracking key) and how a run of events changes its table."""

    name: str

    def apply(self, db: Database, cur: Any, schema: Schema, events: Sequence[Any]) -> None: ...

    def flush(self, db: Database, cur: Any, schema: Schema) -> None: ...

    def forget(self) -> None: ...


class JobProgressView:
    """One row per job: its summary and `sub_step_progress`, folded by the aggregate itself.

    A deferred view (for building scratch tables only) writes a job's row once, when the job
    leaves its cache or at `flush`, instead of after every run of events: its table is behind
    its tracking until then.
    """

    name = "job_progress"

    def __init__(
        self, load: LoadJob, cache_size: int = JOB_CACHE_SIZE, deferred: bool = False
    ) -> None:
        self._load = load
        self._jobs: OrderedDict[int, RegistrationJob] = OrderedDict()
        self._cache_size = cache_size
        self.deferred = deferred
        self._unwritten: set[int] = set()
        self._evicted: list[RegistrationJob] = []

    def forget(self) -> None:
        """Drop folded jobs (after a rollback, they may be ahead of the table)."""
        self._jobs.clear()
        self._unwritten.clear()
        self._evicted.clear()

    def _fold(self, event: Any) -> RegistrationJob:
        key, version = event.originator_id.int, event.originator_version  # int keys hash fast
        job = self._jobs.pop(key, None)
        if version == 1:
            job = None
        elif job is None or job.version != version - 1:
            job = self._load(event.originator_id, version - 1)
        job = apply_event(job, event)
        self._jobs[key] = job
        if self.deferred:
            self._unwritten.add(key)
        if len(self._jobs) > self._cache_size:
            evicted_key, evicted = self._jobs.popitem(last=False)
            if evicted_key in self._unwritten:
                self._unwritten.discard(evicted_key)
                self._evicted.append(evicted)
        return job

    def apply(self, db: Database, cur: Any, schema: Schema, events: Sequence[Any]) -> None:
        touched = {e.originator_id.int: self._fold(e) for e in events if is_job_event(e)}
        if self.deferred:
            jobs, self._evicted = self._evicted, []
        else:
            jobs = list(touched.values())
        self._write(db, cur, schema, jobs)

    def flush(self, db: Database, cur: Any, schema: Schema) -> None:
        """Write the rows of every job folded since its row was last written."""
        self._write(db, cur, schema, [self._jobs[key] for key in self._unwritten])
        self._unwritten.clear()

    def _write(self, db: Database, cur: Any, schema: Schema, jobs: list[RegistrationJob]) -> None:
        if jobs:
            rows = [_job_values(job_row(job)) for job in jobs]
            cur.executemany(db.sql(insert_sql(schema.jobs, JOB_COLUMNS, "job_id")), rows)


def _job_values(row: dict[str, Any]) -> tuple[Any, ...]:
    stored = row | {
        "restaurant": dumps(row["restaurant"]),
        "counts": dumps(row["counts"]),
        "progress": dumps(row["sub_step_progress"]),
    }
    return storable([stored[c] for c in JOB_COLUMNS])


class TimelineView:
    """One row per job event: the audit trail (a second application would break the key)."""

    name = "job_timeline"

    def forget(self) -> None:
        """Nothing is kept between runs."""

    def flush(self, db: Database, cur: Any, schema: Schema) -> None:
        """Every row is written as its event is applied."""

    def apply(self, db: Database, cur: Any, schema: Schema, events: Sequence[Any]) -> None:
        rows = [_timeline_values(timeline_entry(e)) for e in events if is_job_event(e)]
        if rows:
            db.insert_rows(cur, schema.timeline, TIMELINE_COLUMNS, rows)


def _timeline_values(entry: dict[str, Any]) -> tuple[Any, ...]:
    stored = entry | {"data": dumps(entry["data"])}
    return storable([stored[c] for c in TIMELINE_COLUMNS])


class BatchView:
    """One row per batch; its counters are counted from the job rows when asked."""

    name = "batch_summaries"

    def forget(self) -> None:
        """Nothing is kept between runs."""

    def flush(self, db: Database, cur: Any, schema: Schema) -> None:
        """Every row is written as its event is applied."""

    def apply(self, db: Database, cur: Any, schema: Schema, events: Sequence[Any]) -> None:
        for event in events:
            if isinstance(event, RegistrationBatch.Created):
                row = batch_row(event)
                values = storable(
                    [int(row[c]) if c == "started" else row[c] for c in BATCH_COLUMNS]
                )
                cur.execute(db.sql(insert_sql(schema.batches, BATCH_COLUMNS)), values)
            elif isinstance(event, RegistrationBatch.Step6StartRequested):
                cur.execute(
                    db.sql(
                        f"UPDATE {schema.batches} SET started = 1, version = ?, updated_at = ?"
                        " WHERE batch_id = ?"
                    ),
                    (event.originator_version, iso(event.timestamp), str(event.originator_id)),
                )
