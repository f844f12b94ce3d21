"""Scratch copies of the views: a copy left by a killed builder is dropped, one in use is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from infrastructure.settings import Settings
from projections.database import Database
from projections.offline.rebuild import rebuild_all
from projections.offline.scratch import scratch_views, sweep
from projections.schema import Schema
from tests.integration.test_projections import views_of
from tests.kit import until

HOLD_SCRATCH = """
import sys, threading
from infrastructure.settings import Settings
from projections.database import Database
from projections.offline.scratch import scratch_views
settings = Settings(_env_file=None)
with scratch_views(settings, Database(settings)) as scratch:
    print(scratch.prefix, flush=True)
    threading.Event().wait()
"""


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    yield database
    database.close()


def exists(db: Database, schema: Schema) -> bool:
    conn = db.connect()
    try:
        return schema._exists(conn, db)
    finally:
        conn.close()


def test_a_copy_whose_builder_was_killed_is_swept(settings, db) -> None:
    env = os.environ | {
        "REGFLOW_DATABASE_URL": settings.database_url,
        "REGFLOW_SECRET_KEY": "test-passphrase",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRATCH], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        left = Schema(child.stdout.readline().strip())
        assert exists(db, left)
        assert left.prefix not in sweep(settings, db), "a copy in use was dropped"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert until(lambda: left.prefix in sweep(settings, db))
        assert not exists(db, left)
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()


def test_a_rebuild_drops_copies_nobody_holds(settings, app, db) -> None:
    left = Schema.scratch()
    left.create(db, indexed=False)
    with views_of(settings, app) as views:
        rebuild_all(settings, app, schema=views.schema)
    assert not exists(db, left)


def test_a_copy_in_use_survives_another_rebuild(settings, app, db) -> None:
    with scratch_views(settings, db) as mine, views_of(settings, app) as views:
        rebuild_all(settings, app, schema=views.schema)
        assert exists(db, mine)
    assert not exists(db, mine)
