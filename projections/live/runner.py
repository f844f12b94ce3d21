"""Moves views along the log: read through the mapper, apply, advance tracking, one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any, Protocol

from eventsourcing.application import Application

from infrastructure.recent_recordings import RecentRecordings
from projections.database import Database
from projections.fold_versions import Rebuild
from projections.live.fold_check import FoldCheck
from projections.schema import FOLD_VERSION, Schema
from projections.views import View

BATCH_SIZE = 1000


class TrackingMoved(Exception):
    """A view's tracking row is not where this runner left it: another runner moved it."""


class ChangeWatcher(Protocol):
    """Told what a runner writes to the views: to keep a cache of view rows honest."""

    def changing(self, events: Sequence[Any]) -> None:
        """The rows of these events are about to change (before the transaction commits)."""

    def changed(self, events: Sequence[Any]) -> None:
        """The rows of these events changed (committed, before waiters hear of it)."""

    def forgotten(self) -> None:
        """The views may have changed in any way (a rollback, or another runner moved them)."""


class ViewRunner:
    """Applies events to one or more views that stand at the same position, exactly once."""

    def __init__(
        self,
        app: Application[Any],
        db: Database,
        views: Sequence[View],
        schema: Schema,
        batch_size: int = BATCH_SIZE,
        recent: RecentRecordings | None = None,
        rebuild: Rebuild | None = None,
    ) -> None:
        self.app = app
        self.recent = recent  # this process's just-committed events, applied without a read
        self.db = db
        self.views = tuple(views)
        self.schema = schema
        self.folds = FoldCheck(db, schema, {v.name: v.fold_version for v in views}, rebuild)
        self.batch_size = batch_size
        self.committed: int | None = None
        self.watchers: list[ChangeWatcher] = []
        self._advance_sql, self._advance_folds = self._advance_statement()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.views)

    @property
    def lock_names(self) -> tuple[str, ...]:
        """The one-active-runner lock of each view in these tables.

        A lock per view, not per group of views, so that a runner of several views also
        excludes a runner of any one of them (a process that runs the views apart).
        """
        return tuple(self.schema.prefix + name for name in self.names)

    def lock(self, conn: Any) -> bool:
        """Take the lock of every view on `conn`, or of none: False when one is held elsewhere."""
        taken: list[str] = []
        for name in self.lock_names:
            if not self.db.try_lock(conn, name):
                for held in reversed(taken):
                    self.db.release(conn, held)
                return False
            taken.append(name)
        return True

    def unlock(self, conn: Any) -> None:
        """Give back the lock of every view."""
        for name in reversed(self.lock_names):
            self.db.release(conn, name)

    def standing(self, conn: Any) -> dict[str, int]:
        """Where each of these views stands in the log."""
        marks = ", ".join("?" for _ in self.views)
        cur = conn.execute(
            self.db.sql(
                f"SELECT view_name, notification_id FROM {self.schema.tracking}"
                f" WHERE view_name IN ({marks})"
            ),
            self.names,
        )
        return {str(row["view_name"]): int(row["notification_id"]) for row in cur.fetchall()}

    def position(self, conn: Any) -> int:
        """Where these views stand; they must all stand at the same place."""
        standing = self.standing(conn)
        found = set(standing.values())
        if len(found) != 1 or len(standing) != len(self.views):
            raise TrackingMoved(f"views {', '.join(self.names)} stand at {sorted(found)}")
        return found.pop()

    def take_over(self, conn: Any) -> None:
        """Called on taking the views' lock: rebuild views built by older folds than these
        (ViewsRefused for newer ones), level views that stand apart, and forget caches if the
        views moved meanwhile."""
        if self.folds.ensure(conn):
            self.forget()
        self.level(conn)
        if self.position(conn) != self.committed:
            self.forget()

    def level(self, conn: Any) -> None:
        """Bring views that stand behind the others (a view added later, or views run apart
        before) to the furthest one, each on its own, so that from there they move together."""
        standing = self.standing(conn)
        if len(self.views) < 2 or len(set(standing.values())) < 2:
            return
        furthest = max(standing.values())
        self.forget()
        for view in self.views:
            if view.name in standing and standing[view.name] < furthest:
                alone = ViewRunner(self.app, self.db, [view], self.schema, self.batch_size)
                alone.run_to(conn, furthest)

    def step(self, conn: Any, stop: int | None = None) -> int:
        """Apply the next run of events (up to `stop`); returns how many were applied."""
        # Where this runner committed last; the compare-and-set in `_advance` catches a
        # tracking row moved since, so the position is read again only after a forget.
        start = self.committed if self.committed is not None else self.position(conn)
        handed = (
            self.recent.after(start, self.batch_size, stop) if self.recent is not None else None
        )
        if handed:
            events = [r.domain_event for r in handed]
            return self.apply(conn, start, [r.notification for r in handed], events)
        notifications = self.app.recorder.select_notifications(
            start=start, limit=self.batch_size, stop=stop, inclusive_of_start=False
        )
        if not notifications:
            self.committed = start
            return 0
        events = [self.app.mapper.to_domain_event(n) for n in notifications]
        return self.apply(conn, start, notifications, events)

    def apply(
        self, conn: Any, start: int, notifications: Sequence[Any], events: Sequence[Any]
    ) -> int:
        """Apply events read after `start`, with tracking, in one transaction."""
        for watcher in self.watchers:
            watcher.changing(events)
        try:
            with self.db.transaction(conn) as cur:
                self._advance(cur, start, notifications[-1].id)
                for view in self.views:
                    view.apply(self.db, cur, self.schema, events)
        except BaseException:
            self.forget()
            raise
        # Watchers hear of the rows before `committed` lets a read-your-writes wait return.
        for watcher in self.watchers:
            watcher.changed(events)
        self.committed = notifications[-1].id
        return len(notifications)

    def _advance_statement(self) -> tuple[str, tuple[Any, ...]]:
        """The tracking statement of `_advance` and its parameters after `start`, made once:
        these views, their tables and their folds are this runner's for its lifetime."""
        marks = ", ".join("?" for _ in self.names)
        folds = " ".join("WHEN ? THEN ?" for _ in self.names)
        statement = self.db.sql(
            f"UPDATE {self.schema.tracking} SET notification_id = ?"
            f" WHERE view_name IN ({marks}) AND notification_id = ?"
            f" AND {FOLD_VERSION} = CASE view_name {folds} END"
        )
        return statement, tuple(chain.from_iterable(self.folds.versions.items()))

    def _advance(self, cur: Any, start: int, end: int) -> None:
        """Move tracking from `start` to `end`, or fail if someone else moved it first, or
        rebuilt a view with other folds than these: one statement for every view (a round trip
        each was a fifth of a PATCH's wait)."""
        names = self.names
        cur.execute(self._advance_sql, (end, *names, start, *self._advance_folds))
        if cur.rowcount != len(names):
            raise TrackingMoved(
                f"views {', '.join(self.names)} are no longer all at {start} (or no longer"
                " all built by this process's folds)"
            )

    def run_to(self, conn: Any, stop: int) -> int:
        """Apply every event up to `stop`; returns how many were applied."""
        self.take_over(conn)
        total = 0
        while self.position(conn) < stop:
            applied = self.step(conn, stop)
            if not applied:
                break
            total += applied
        return total

    def forget(self) -> None:
        self.committed = None
        for view in self.views:
            view.forget()
        for watcher in self.watchers:
            watcher.forgotten()
