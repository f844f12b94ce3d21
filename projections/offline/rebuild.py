"""Rebuild views from the log into scratch tables and swap them in, recording the versions of
the folds that built them (the check of the live views against a rebuild is in `verify`).

The rebuilt tables are swapped in where the live ones stand, never behind: a read that found
the live views holding everything it shows, and then read the swapped-in rows, would show an
older state than the one before (a batch's counts going back until the views caught up)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import View, build_views, fold_versions
from projections.database import Database
from projections.fold_versions import Rebuild, refuse_newer
from projections.offline.build import Progress, build
from projections.offline.diff import Difference
from projections.offline.scratch import scratch_views
from projections.offline.verify import verify
from projections.schema import FOLD_VERSION, VIEW_NAMES, Schema, version_of

KEYED = ("job_progress", "batch_summaries")  # their primary keys follow them when renamed
CATCH_UP_PAGE = 1000  # events read at a time as the rebuilt tables catch up with the live ones
# Events the live views may stand past the rebuilt tables when the swap takes its lock: more
# are applied first in transactions of their own, so the writers that wait for the swap (all
# of them on SQLite) wait for at most this many.
CATCH_UP_UNDER_LOCK = 1000
NEWER = "rebuilding them with this release's folds would undo what the newer release built"

__all__ = ["Difference", "rebuild_all", "rebuild_views", "rebuilder", "verify"]


class CatchingUp:
    """The rebuilt tables, brought from where the build stopped to where the live views stand,
    by the views' own folds (as a live runner carries on from the rows it finds)."""

    def __init__(
        self, app: Registrations, db: Database, scratch: Schema, names: Collection[str], at: int
    ) -> None:
        self.app, self.db, self.scratch = app, db, scratch
        self.views: list[View] = [v for v in build_views(app) if v.name in names]
        self.names = tuple(names)
        self.position = at

    def live_position(self, cur: Any, live: Schema) -> int:
        """The furthest the live views of these names stand (the rebuild's own, at least)."""
        marks = ", ".join("?" for _ in self.names)
        cur.execute(
            self.db.sql(
                f"SELECT MAX(notification_id) AS at FROM {live.tracking}"
                f" WHERE view_name IN ({marks})"
            ),
            self.names,
        )
        found = cur.fetchone()
        return max(self.position, int(found["at"] or 0) if found else 0)

    def apply_to(self, cur: Any, stop: int) -> None:
        """Apply the log's events after where the tables stand, up to `stop`, with `cur`."""
        while self.position < stop:
            notifications = self.app.recorder.select_notifications(
                self.position, CATCH_UP_PAGE, stop=stop, inclusive_of_start=False
            )
            if not notifications:
                break
            events = [self.app.mapper.to_domain_event(n) for n in notifications]
            for view in self.views:
                view.apply(self.db, cur, self.scratch, events)
            self.position = notifications[-1].id
        self.position = max(self.position, stop)

    def near(self, live: Schema) -> None:
        """Catch up, a page a transaction, until the live views stand at most
        CATCH_UP_UNDER_LOCK events further."""
        conn = self.db.connect()
        try:
            while True:
                with self.db.transaction(conn) as cur:
                    stop = self.live_position(cur, live)
                    if stop - self.position <= CATCH_UP_UNDER_LOCK:
                        return
                    self.apply_to(cur, min(stop, self.position + CATCH_UP_PAGE))
        finally:
            conn.close()


def _swap_in(
    db: Database,
    live: Schema,
    scratch: Schema,
    caught_up: CatchingUp,
    versions: Mapping[str, int],
    downgrade: bool,
) -> int:
    """Put the rebuilt tables of the views `versions` names in place of the live ones and move
    their tracking, recording the fold versions they were built by, in one transaction (readers
    see the old rows or the new ones, never a mix). The live views' tracking is held meanwhile
    (on SQLite, the whole store), and the rebuilt tables first catch up with where they stand:
    the position they are swapped in at is returned. Unless `downgrade`, views that a newer
    release rebuilt meanwhile are left alone (ViewsRefused)."""
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            lock = " FOR UPDATE" if db.is_postgres else ""
            cur.execute(f"SELECT view_name, {FOLD_VERSION} AS version FROM {live.tracking}{lock}")
            stored = {str(r["view_name"]): version_of(r["version"]) for r in cur.fetchall()}
            if not downgrade:
                refuse_newer(stored, versions, NEWER)
            caught_up.apply_to(cur, caught_up.live_position(cur, live))
            position = caught_up.position
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
        return position
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
            caught_up = CatchingUp(app, db, scratch, tuple(versions), position)
            caught_up.near(live)
            return _swap_in(db, live, scratch, caught_up, versions, downgrade)
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
