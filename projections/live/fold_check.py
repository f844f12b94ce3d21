"""Before a runner moves its views: rows built by an older (or unknown) fold than this process's
are rebuilt from the log, and rows built by a newer one are refused, never overwritten."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from infrastructure.keys.table import events_table
from projections.database import Database
from projections.fold_versions import Rebuild, ViewsRefused, outdated, refuse_newer, shown
from projections.schema import FOLD_VERSION, Schema, version_of

log = logging.getLogger("regflow.projections")
NEWER = (
    "this process runs an older release, whose folds must not overwrite them: it leaves the views"
    " to the newer release (use that release, or upgrade this one)"
)


class FoldCheck:
    """Whether a runner's views were built by its own folds; made so, by a rebuild from the log,
    when they were built by older ones."""

    def __init__(
        self, db: Database, schema: Schema, versions: Mapping[str, int], rebuild: Rebuild | None
    ) -> None:
        self.db = db
        self.schema = schema
        self.versions = dict(versions)
        self.rebuild = rebuild
        self.rebuilding: dict[str, tuple[int | None, int]] = {}  # views rebuilt here now
        self.refused: str | None = None  # why the views are not run here, while they are not

    def stored(self, conn: Any) -> dict[str, int | None]:
        """The version of the fold each of these views' rows were built by (None: unknown)."""
        marks = ", ".join("?" for _ in self.versions)
        cur = conn.execute(
            self.db.sql(
                f"SELECT view_name, {FOLD_VERSION} AS version FROM {self.schema.tracking}"
                f" WHERE view_name IN ({marks})"
            ),
            tuple(self.versions),
        )
        return {str(r["view_name"]): version_of(r["version"]) for r in cur.fetchall()}

    def differs(self, conn: Any) -> bool:
        """Whether any of these views' rows were built by another fold than this process's."""
        stored = self.stored(conn)
        return any(stored.get(name) != version for name, version in self.versions.items())

    def ensure(self, conn: Any) -> bool:
        """Make these views' rows those of this process's folds, rebuilding from the log those
        built by older or unknown ones; True when it rebuilt any. ViewsRefused when a newer
        release built them, or when they need a rebuild and this process has none."""
        stored, rebuild = self.stored(conn), self.rebuild
        refuse_newer(stored, self.versions, NEWER)
        names = outdated(stored, self.versions)
        if names and rebuild is None:
            raise ViewsRefused(
                f"views {', '.join(names)} were built by other folds than this process's, and it"
                " cannot rebuild them: run `regflow rebuild-projections`"
            )
        self.refused = None
        if not names or rebuild is None:
            return False
        events = self._events(conn)
        self.rebuilding = {name: (stored.get(name), self.versions[name]) for name in names}
        for name, (old, new) in self.rebuilding.items():
            log.warning(
                "view %s: rebuilding it from the log, fold version %s -> %d (%d events)",
                name,
                shown(old),
                new,
                events,
            )
        started = time.monotonic()
        try:
            position = rebuild(self.schema, names)
        finally:
            self.rebuilding = {}
        took = time.monotonic() - started
        log.info("views %s rebuilt to log position %d in %.1f s", ", ".join(names), position, took)
        return True

    def problems(self) -> list[str]:
        """What keeps the views from being ready here: a rebuild from the log, or a refusal."""
        problems = [
            f"view {name}: rebuilding from the log (fold version {shown(old)} -> {new})"
            for name, (old, new) in self.rebuilding.items()
        ]
        if self.refused is not None:
            problems.append(f"views: not run here, {self.refused}")
        return problems

    def _events(self, conn: Any) -> int:
        """How many events the log holds."""
        row = conn.execute(f"SELECT count(*) AS n FROM {events_table(self.db.is_postgres)}")
        return int(row.fetchone()["n"])
