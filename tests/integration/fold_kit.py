"""For the tests of fold versions: a store of the test's own (they change what every process of
a store reads), the versions its views were built by, and the views' tables by raw SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.live.service import ReadModelService
from projections.offline.rebuild import rebuilder
from projections.schema import FOLD_VERSION, Schema
from tests.conftest import new_database

LIVE = Schema()


@contextmanager
def own_store(database_url: str) -> Iterator[str]:
    """A database of its own on PostgreSQL (an SQLite file is the test's own already)."""
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    with new_database("regflow_folds") as (_, url):
        yield url


def opened(settings: Settings, app: Registrations) -> ReadModelService:
    """The read models as `serve` opens them: able to rebuild views of older folds."""
    return ReadModelService(settings, app, rebuild=rebuilder(settings, app))


def run_sql(settings: Settings, statement: str, params: tuple[Any, ...] = ()) -> None:
    db = Database(settings)
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            cur.execute(db.sql(statement), params)
    finally:
        conn.close()
        db.close()


def store_versions(settings: Settings, **versions: int | None) -> None:
    """Record the views as built by these fold versions (None: unknown)."""
    for name, version in versions.items():
        update = f"UPDATE {LIVE.tracking} SET {FOLD_VERSION} = ? WHERE view_name = ?"
        run_sql(settings, update, (version, name))


def stored(settings: Settings) -> dict[str, int | None]:
    """The fold versions the views were built by, as recorded."""
    db = Database(settings)
    try:
        return LIVE.fold_versions(db)
    finally:
        db.close()


def positions(settings: Settings) -> dict[str, int]:
    db = Database(settings)
    try:
        return LIVE.positions(db)
    finally:
        db.close()


def head(app: Registrations) -> int:
    return int(app.recorder.max_notification_id() or 0)
