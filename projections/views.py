"""The views' shared parts, and the timeline and batch views: each applies a run of events to
its table inside the caller's transaction (the job view is in `job_view`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from domain.batch import RegistrationBatch
from domain.erasure import OrganisationErasure
from domain.job_events import JOB_TOPIC
from projections.database import Database
from projections.folds.batches import batch_row
from projections.folds.jobs import iso
from projections.folds.timeline import timeline_entry
from projections.jsontext import dumps
from projections.schema import Schema

JOB_TOPIC_PREFIX = JOB_TOPIC + "."
ReadEvents = Callable[[UUID, int], Sequence[Any]]  # a job's events up to a version, as read now
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


def is_job_event(event: Any) -> bool:
    """True for an event of a registration job (not of a batch)."""
    return _is_job_event_type(type(event))  # type: ignore[arg-type]  # mypy: a class is not Hashable


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
    """A read model: a name (its tracking key), the version of its fold, and how a run of
    events changes its table."""

    name: str
    # Bumped whenever what it writes changes: every process then rebuilds the view's rows from
    # the log when it starts (`tests/unit/test_fold_versions.py` pins the code it covers).
    fold_version: int

    def apply(self, db: Database, cur: Any, schema: Schema, events: Sequence[Any]) -> None: ...

    def flush(self, db: Database, cur: Any, schema: Schema) -> None: ...

    def forget(self) -> None: ...


def erased_organisations(events: Sequence[Any]) -> list[str]:
    """The organisations erased by these events, in order."""
    return [e.organisation_id for e in events if isinstance(e, OrganisationErasure.Created)]


class TimelineView:
    """One row per job event: the audit trail (a second application would break the key).

    A live view (given `read_events`) writes an erased organisation's rows again in the run
    that applies its erasure: read again, with its data key gone, its events show what was
    personal or secret as erased. (A rebuild reads them so from the start.)
    """

    name = "job_timeline"
    # bump when a row changes (see `View.fold_version`). 2: an interruption's data names its actor;
    # 3: a URL's password inside a text is masked; 4: secrets' names written as one word, in
    # lookalike letters or other languages; Basic credentials; 5: a JWT written straight after
    # Basic credentials is masked whole; 6: a skip's data says whether the menu rule decided it;
    # 7: a phase's word names its actor (the engine's, for words recorded before they did);
    # 8: secrets' names in odd case (`ToKEN`), with a stroked letter (`hasło`), Portuguese and
    # Spanish; 9: `haslo` run on with other words (`haslokonta`); 10: a payment card's number
    # is a secret under any name, and masked inside a text; `pw`, `jwt`, second factors'
    # codes, names in any script inside a text are secrets; a boolean is never masked; 11:
    # `psw`, `creds`, a password's word in Russian, Chinese, Japanese and Korean are secrets'
    # names; a bank account is personal
    fold_version = 11

    def __init__(self, read_events: ReadEvents | None = None) -> None:
        self._read_events = read_events

    def forget(self) -> None:
        """Nothing is kept between runs."""

    def flush(self, db: Database, cur: Any, schema: Schema) -> None:
        """Every row is written as its event is applied."""

    def apply(self, db: Database, cur: Any, schema: Schema, events: Sequence[Any]) -> None:
        rows = [timeline_values(timeline_entry(e)) for e in events if is_job_event(e)]
        if rows:
            db.insert_rows(cur, schema.timeline, TIMELINE_COLUMNS, rows)
        if self._read_events is not None:
            for organisation_id in erased_organisations(events):
                self._scrub(db, cur, schema, organisation_id, self._read_events)

    @staticmethod
    def _scrub(
        db: Database, cur: Any, schema: Schema, organisation_id: str, read_events: ReadEvents
    ) -> None:
        cur.execute(
            db.sql(
                f"SELECT t.job_id AS job_id, max(t.version) AS version FROM {schema.timeline} t"
                f" JOIN {schema.jobs} j ON j.job_id = t.job_id WHERE j.organisation_id = ?"
                " GROUP BY t.job_id"
            ),
            (organisation_id,),
        )
        for job_id, version in [(str(r["job_id"]), int(r["version"])) for r in cur.fetchall()]:
            events = [e for e in read_events(UUID(job_id), version) if is_job_event(e)]
            delete = f"DELETE FROM {schema.timeline} WHERE job_id = ? AND version <= ?"
            cur.execute(db.sql(delete), (job_id, version))
            rows = [timeline_values(timeline_entry(e)) for e in events]
            db.insert_rows(cur, schema.timeline, TIMELINE_COLUMNS, rows)


def timeline_values(entry: dict[str, Any]) -> list[Any]:
    """A timeline entry as the timeline view's columns store it, in `TIMELINE_COLUMNS` order."""
    stored = entry | {"data": dumps(entry["data"])}
    return storable([stored[c] for c in TIMELINE_COLUMNS])


class BatchView:
    """One row per batch; its counters are counted from the job rows when asked."""

    name = "batch_summaries"
    # bump when a row changes (see `View.fold_version`). 2: a URL's password inside a text is
    # masked. 3: secrets' names written as one word, in lookalike letters or other languages;
    # Basic credentials. 4: a JWT written straight after Basic credentials is masked whole.
    # 5: secrets' names in odd case (`ToKEN`), with a stroked letter (`hasło`), Portuguese and
    # Spanish. 6: `haslo` run on with other words (`haslokonta`). 7: a payment card's number
    # is a secret under any name, and masked inside a text; `pw`, `jwt`, second factors'
    # codes, names in any script inside a text are secrets; a boolean is never masked. 8:
    # `psw`, `creds`, a password's word in Russian, Chinese, Japanese and Korean are secrets'
    # names; a bank account is personal
    fold_version = 8

    def forget(self) -> None:
        """Nothing is kept between runs."""

    def flush(self, db: Database, cur: Any, schema: Schema) -> None:
        """Every row is written as its event is applied."""

    def apply(self, db: Database, cur: Any, schema: Schema, events: Sequence[Any]) -> None:
        for event in events:
            if isinstance(event, RegistrationBatch.Created):
                values = batch_values(batch_row(event))
                cur.execute(db.sql(insert_sql(schema.batches, BATCH_COLUMNS)), values)
            elif isinstance(event, RegistrationBatch.Step6StartRequested):
                cur.execute(
                    db.sql(
                        f"UPDATE {schema.batches} SET started = 1, version = ?, updated_at = ?"
                        " WHERE batch_id = ?"
                    ),
                    (event.originator_version, iso(event.timestamp), str(event.originator_id)),
                )


def batch_values(row: dict[str, Any]) -> list[Any]:
    """A batch's row as the batch view's columns store it, in `BATCH_COLUMNS` order."""
    return storable([int(row[c]) if c == "started" else row[c] for c in BATCH_COLUMNS])
