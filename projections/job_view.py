"""The job view: one row per job with its summary and `sub_step_progress`."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from domain.erasure import OrganisationErasure
from domain.job import RegistrationJob
from domain.status import FINAL_JOB_STATUSES
from projections.database import Database
from projections.folds.jobs import apply_event, job_row
from projections.jsontext import dumps
from projections.schema import Schema
from projections.views import erased_organisations, insert_sql, is_job_event, storable

JOB_CACHE_SIZE = 20_000
# Live views fold the few jobs running now; each folded job costs tens of kB, so a live cache
# of 20,000 held on to every job of a big new batch for good.
LIVE_JOB_CACHE_SIZE = 2_000
# A job that reaches one of these statuses leaves a live view's cache at once: most never
# change again, and the few that do (resumed, edited) are loaded back from the log at their
# next event.
RESTING = frozenset(str(status) for status in FINAL_JOB_STATUSES)
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
LoadJob = Callable[[UUID, int], RegistrationJob]


class JobProgressView:
    """One row per job: its summary and `sub_step_progress`, folded by the aggregate itself.

    Folded jobs are cached between runs of events so that most events need no load. A live
    view keeps them only while they are at work: a job leaves its cache when a run of events
    leaves it completed, failed or cancelled (and, beyond `cache_size` jobs, the least recently
    folded leaves), so a long-running process holds live work, not history. Within a run a
    settled job stays: an operator's bulk edit of a failed job is a hundred events of a job
    that stays failed, and a load for each (replaying the whole job when the views are behind
    its latest snapshot) made the views fall behind for every job. A deferred view lives for one
    build, where reloading a settled job that changes again later in the log costs more than
    keeping it.

    A deferred view (for building scratch tables only) writes a job's row once, when the job
    leaves its cache or at `flush`, instead of after every run of events: its table is behind
    its tracking until then.
    """

    name = "job_progress"
    # bump when a row changes (see `View.fold_version`). 2: a URL's password inside a text is
    # masked. 3: `last_error` only while a failed sub-step stands behind it. 4: secrets' names
    # written as one word, in lookalike letters or other languages; Basic credentials. 5: a JWT
    # written straight after Basic credentials is masked whole. 6: secrets' names in odd case
    # (`ToKEN`), with a stroked letter (`hasło`), Portuguese and Spanish. 7: `last_error` is
    # the failed sub-step's error as it stands (one mended and marked failed again: its new
    # one); `haslo` run on with other words (`haslokonta`). 8: a payment card's number is a
    # secret under any name, and masked inside a text; `pw`, `jwt`, second factors' codes,
    # names in any script inside a text are secrets; a boolean is never masked. 9:
    # `psw`, `creds`, a password's word in Russian, Chinese, Japanese and Korean are secrets'
    # names; a bank account is personal
    fold_version = 9

    def __init__(
        self, load: LoadJob, cache_size: int = JOB_CACHE_SIZE, deferred: bool = False
    ) -> None:
        self._load = load
        self._jobs: OrderedDict[int, RegistrationJob] = OrderedDict()
        self._cache_size = cache_size
        self.deferred = deferred
        self._unwritten: set[int] = set()
        self._evicted: list[RegistrationJob] = []

    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: UUID) -> bool:
        """Whether the job is folded in the cache."""
        return job_id.int in self._jobs

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
        touched: dict[int, RegistrationJob] = {}
        for event in events:
            if is_job_event(event):
                touched[event.originator_id.int] = self._fold(event)
            elif isinstance(event, OrganisationErasure.Created) and not self.deferred:
                self._jobs.clear()  # folded jobs may hold what the erasure made unreadable
        if self.deferred:
            jobs, self._evicted = self._evicted, []
        else:
            jobs = list(touched.values())
            for key, job in touched.items():  # kept through the run: one load for its events
                if job.status in RESTING:
                    self._jobs.pop(key, None)
        self._write(db, cur, schema, jobs)
        if not self.deferred:
            for organisation_id in erased_organisations(events):
                self._scrub(db, cur, schema, organisation_id)

    def _scrub(self, db: Database, cur: Any, schema: Schema, organisation_id: str) -> None:
        """Write an erased organisation's rows again from its jobs as they load now: with its
        data key gone, what was personal or secret reads as erased. (A rebuild, and a deferred
        view, read them so from the start.)"""
        where = f"SELECT job_id, version FROM {schema.jobs} WHERE organisation_id = ?"
        cur.execute(db.sql(where), (organisation_id,))
        rows = [(UUID(str(r["job_id"])), int(r["version"])) for r in cur.fetchall()]
        self._write(db, cur, schema, [self._load(job_id, version) for job_id, version in rows])

    def flush(self, db: Database, cur: Any, schema: Schema) -> None:
        """Write the rows of every job folded since its row was last written."""
        self._write(db, cur, schema, [self._jobs[key] for key in self._unwritten])
        self._unwritten.clear()

    def _write(self, db: Database, cur: Any, schema: Schema, jobs: list[RegistrationJob]) -> None:
        if jobs:
            rows = [job_values(job_row(job)) for job in jobs]
            cur.executemany(db.sql(insert_sql(schema.jobs, JOB_COLUMNS, "job_id")), rows)


def job_values(row: dict[str, Any]) -> list[Any]:
    """A job's row (`job_row`) as the job view's columns store it, in `JOB_COLUMNS` order."""
    stored = row | {
        "restaurant": dumps(row["restaurant"]),
        "counts": dumps(row["counts"]),
        "progress": dumps(row["sub_step_progress"]),
    }
    return storable([stored[c] for c in JOB_COLUMNS])
