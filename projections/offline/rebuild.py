"""Rebuild the views from the log, and check the live views against a rebuild."""

from __future__ import annotations

from typing import Any

from domain.exceptions import JobNotFound
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.store import as_uuid
from projections.database import Database
from projections.folds.jobs import job_row, replay
from projections.folds.timeline import timeline_entry
from projections.job_view import JOB_COLUMNS
from projections.offline.build import Progress, build
from projections.offline.diff import Difference, compare_rows, read_rows
from projections.offline.scratch import scratch_views
from projections.schema import VIEW_NAMES, Schema
from projections.views import TIMELINE_COLUMNS

KEYED = ("job_progress", "batch_summaries")  # their primary keys follow them when renamed
SCAN_CHUNK = 5000

__all__ = ["Difference", "rebuild_all", "verify"]


def _swap_in(db: Database, live: Schema, scratch: Schema, position: int) -> None:
    """Put the rebuilt tables in place of the live ones and move tracking, in one transaction
    (readers see the old rows or the new ones, never a mix)."""
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            lock = " FOR UPDATE" if db.is_postgres else ""
            cur.execute(f"SELECT view_name FROM {live.tracking}{lock}")
            for name in VIEW_NAMES:
                source, target = scratch.view_tables[name], live.view_tables[name]
                cur.execute(f"DROP TABLE {target}")
                cur.execute(f"ALTER TABLE {source} RENAME TO {target}")
                if db.is_postgres and name in KEYED:
                    cur.execute(f"ALTER INDEX {source}_pkey RENAME TO {target}_pkey")
            for statement in live.indexes():
                cur.execute(statement)
            cur.execute(db.sql(f"UPDATE {live.tracking} SET notification_id = ?"), (position,))
    finally:
        conn.close()


def rebuild_all(
    settings: Settings,
    app: Registrations,
    progress: Progress | None = None,
    schema: Schema | None = None,
) -> int:
    """Rebuild every view from the whole log; running runners carry on from the new rows."""
    db = Database(settings)
    live = schema or Schema()
    try:
        live.create(db)
        with scratch_views(settings, db) as scratch:
            head = int(app.recorder.max_notification_id() or 0)
            position = build(settings, app, db, scratch, head, progress)
            _swap_in(db, live, scratch, position)
            return position
    finally:
        db.close()


def verify(
    settings: Settings, app: Registrations, job_id: str | None = None, schema: Schema | None = None
) -> list[Difference]:
    """Differences between the live views and a rebuild from the log (none when they agree)."""
    db = Database(settings)
    try:
        live = schema or Schema()
        live.create(db)
        if job_id is not None:
            return _verify_job(db, live, app, job_id)
        return _verify_all(settings, db, live, app)
    finally:
        db.close()


def _verify_all(
    settings: Settings, db: Database, live: Schema, app: Registrations
) -> list[Difference]:
    position = min(live.positions(db).values())
    with scratch_views(settings, db) as scratch:
        build(settings, app, db, scratch, position)
        current = {v: read_rows(db, live, v) for v in VIEW_NAMES}
        moved = _changed_since(app, position)
        return [
            d
            for v in VIEW_NAMES
            for d in compare_rows(v, current[v], read_rows(db, scratch, v), moved)
        ]


def _changed_since(app: Registrations, position: int) -> set[str]:
    """Aggregates with events after `position`: the live views may already show those."""
    changed: set[str] = set()
    while batch := app.recorder.select_notifications(
        start=position, limit=SCAN_CHUNK, inclusive_of_start=False
    ):
        changed.update(str(n.originator_id) for n in batch)
        position = batch[-1].id
    return changed


def _verify_job(db: Database, live: Schema, app: Registrations, job_id: str) -> list[Difference]:
    where = ("WHERE job_id = ?", (str(job_id),))
    current = {v: read_rows(db, live, v, *where) for v in ("job_progress", "job_timeline")}
    shown = current["job_progress"].get(str(job_id))
    events = list(
        app.events.get(as_uuid(job_id, JobNotFound), lte=shown["version"] if shown else None)
    )
    rebuilt: dict[str, dict[str, dict[str, Any]]] = {"job_progress": {}, "job_timeline": {}}
    if events:
        row = job_row(replay(events))
        row["progress"] = row.pop("sub_step_progress")
        rebuilt["job_progress"][str(job_id)] = {c: row[c] for c in JOB_COLUMNS}
        for entry in map(timeline_entry, events):
            key = f"{entry['job_id']}#{entry['version']}"
            rebuilt["job_timeline"][key] = {c: entry[c] for c in TIMELINE_COLUMNS}
    return [d for v in rebuilt for d in compare_rows(v, current[v], rebuilt[v])]
