"""Rebuild views from the log into scratch tables and swap them in, recording the versions of
the folds that built them (the check of the live views against a rebuild is in `verify`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import fold_versions
from projections.database import Database
from projections.fold_versions import Rebuild, refuse_newer
from projections.offline.build import Progress, build
from projections.offline.diff import Difference
from projections.offline.scratch import scratch_views
from projections.offline.verify import verify
from projections.schema import FOLD_VERSION, VIEW_NAMES, Schema, version_of

KEYED = ("job_progress", "batch_summaries")  # their primary keys follow them when renamed
NEWER = "rebuilding them with this release's folds would undo what the newer release built"

__all__ = ["Difference", "rebuild_all", "rebuild_views", "rebuilder", "verify"]


def _swap_in(
    db: Database,
    live: Schema,
    scratch: Schema,
    position: int,
    versions: Mapping[str, int],
    downgrade: bool,
) -> None:
    """Put the rebuilt tables of the views `versions` names in place of the live ones and move
    their tracking, recording the fold versions they were built by, in one transaction (readers
    see the old rows or the new ones, never a mix). Unless `downgrade`, views that a newer
    release rebuilt meanwhile are left alone (ViewsRefused)."""
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            lock = " FOR UPDATE" if db.is_postgres else ""
            cur.execute(f"SELECT view_name, {FOLD_VERSION} AS version FROM {live.tracking}{lock}")
            if not downgrade:
                stored = {str(r["view_name"]): version_of(r["version"]) for r in cur.fetchall()}
                refuse_newer(stored, versions, NEWER)
            for name in versions:
                source, target = scratch.view_tables[name], live.view_tables[name]
                cur.execute(f"DROP TABLE {target}")
                cur.execute(f"ALTER TABLE {source} RENAME TO {target}")
                if db.is_postgres and name in KEYED:
                    cur.execute(f"ALTER INDEX {source}_pkey RENAME TO {target}_pkey")
            for statement in live.indexes():
                cur.execute(statement)
            cur.executemany(
                db.sql(
                    f"UPDATE {live.tracking} SET notification_id = ?, {FOLD_VERSION} = ?"
                    " WHERE view_name = ?"
                ),
                [(position, version, name) for name, version in versions.items()],
            )
    finally:
        conn.close()


def rebuild_views(
    settings: Settings,
    app: Registrations,
    names: Sequence[str] = VIEW_NAMES,
    progress: Progress | None = None,
    schema: Schema | None = None,
    downgrade: bool = False,
) -> int:
    """Rebuild the views `names` from the whole log with this release's folds, and record
    their versions; running runners carry on from the new rows. Views built by a newer
    release's folds are refused (ViewsRefused) unless `downgrade`."""
    db = Database(settings)
    live = schema or Schema()
    versions = {name: version for name, version in fold_versions().items() if name in names}
    try:
        live.create(db, versions=fold_versions())
        if not downgrade:
            refuse_newer(live.fold_versions(db), versions, NEWER)
        with scratch_views(settings, db) as scratch:
            head = int(app.recorder.max_notification_id() or 0)
            position = build(settings, app, db, scratch, head, progress, tuple(versions))
            _swap_in(db, live, scratch, position, versions, downgrade)
            return position
    finally:
        db.close()


def rebuild_all(
    settings: Settings,
    app: Registrations,
    progress: Progress | None = None,
    schema: Schema | None = None,
    downgrade: bool = False,
) -> int:
    """Rebuild every view from the whole log (`rebuild_views` of them all)."""
    return rebuild_views(settings, app, VIEW_NAMES, progress, schema, downgrade)


def rebuilder(settings: Settings, app: Registrations) -> Rebuild:
    """How the live views of a process rebuild views built by older folds than its own: as
    `rebuild_all` does, the named views only."""

    def rebuild(live: Schema, names: Sequence[str]) -> int:
        return rebuild_views(settings, app, names, schema=live)

    return rebuild
