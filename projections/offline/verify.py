"""Check the live views against a rebuild from the log, row by row and field by field."""

from __future__ import annotations

from typing import Any

from domain.exceptions import JobNotFound
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.store import as_uuid
from projections.catalogue import fold_versions
from projections.database import Database
from projections.folds.jobs import job_row, replay
from projections.folds.timeline import timeline_entry
from projections.job_view import JOB_COLUMNS
from projections.offline.build import build
from projections.offline.diff import Difference, compare_rows, read_rows
from projections.offline.scratch import scratch_views
from projections.schema import VIEW_NAMES, Schema
from projections.views import TIMELINE_COLUMNS

SCAN_CHUNK = 5000


def verify(
    settings: Settings, app: Registrations, job_id: str | None = None, schema: Schema | None = None
) -> list[Difference]:
    """Differences between the live views and a rebuild from the log (none when they agree)."""
    db = Database(settings)
    try:
        live = schema or Schema()
        live.create(db, versions=fold_versions())
        if job_id is not None:
            return _verify_job(db, live, app, job_id)
        return _verify_all(settings, db, live, app)
    finally:
        db.close()


def verified_span(settings: Settings, app: Registrations) -> tuple[int, int]:
    """How far a verify of every view reaches (where the views stand: the least of them), and
    the log's head: events past the former are not in the views yet, so not compared."""
    db = Database(settings)
    try:
        position = min(Schema().positions(db).values())
    finally:
        db.close()
    return position, app.recorder.max_notification_id() or 0


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
