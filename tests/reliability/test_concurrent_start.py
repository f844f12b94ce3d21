"""Processes starting together on one store all start: on a new store they create its tables
in turn, and on a store in use they start beside a process writing to it, on both stores."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

import psycopg
import pytest

from infrastructure.engine.leases import TABLE as LEASES
from tests.conftest import TEST_SECRET, own_database_url

pytestmark = pytest.mark.slow

PROCESSES = 6
ROUNDS = 3

OPEN_EVERYTHING = f"""
import sys
from infrastructure.engine.leases import open_leases
from infrastructure.usecases.registrations import Registrations
from infrastructure.settings import Settings
from projections.live.service import ReadModelService
sys.stdin.readline()  # every process opens the store at the same moment
settings = Settings(_env_file=None, secret_key={TEST_SECRET!r})
app = Registrations(settings)
leases = open_leases(settings)
views = ReadModelService(settings, app)
views.catch_up()
views.stop(); leases.close(); app.close()
"""

WRITE_UNTIL_TOLD = f"""
import sys
from pathlib import Path
from infrastructure.usecases.registrations import Registrations
from infrastructure.settings import Settings
from tests.kit import restaurants
app = Registrations(Settings(_env_file=None, secret_key={TEST_SECRET!r}))
print("writing", flush=True)
while not Path(sys.argv[1]).exists():
    app.create_batch("org-writer", "writer", "one", restaurants(1))
app.close()
"""


@pytest.fixture(params=["sqlite", "postgres"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes a new, empty store of the param's kind each time it is called."""
    with ExitStack() as made:

        def make() -> str:
            folder = Path(tempfile.mkdtemp(dir=tmp_path))
            return made.enter_context(contextmanager(own_database_url)(request, folder, "rf_start"))

        yield make


def start_together(url: str) -> None:
    """Open every part of the store in PROCESSES processes let go at once; all must succeed."""
    env = os.environ | {"REGFLOW_DATABASE_URL": url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_EVERYTHING],
            env=env,
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(PROCESSES)
    ]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        process.stdin.flush()
    failures = [p.communicate(timeout=120)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0] * PROCESSES, [f for f in failures if f][:1]


def test_processes_starting_at_once_on_a_new_store_all_start(
    new_store: Callable[[], str],
) -> None:
    """A new store each round: the processes race to create the file (SQLite) or the tables."""
    for _ in range(ROUNDS):
        start_together(new_store())


def test_processes_starting_at_once_beside_a_writer_all_start(
    new_store: Callable[[], str], tmp_path: Path
) -> None:
    """One process writes all along; each round's processes open the store beside it."""
    store_url = new_store()
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITE_UNTIL_TOLD, str(stop)],
        env=os.environ | {"REGFLOW_DATABASE_URL": store_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"writing\n", writer.communicate(timeout=60)[1]
        for _ in range(ROUNDS):
            start_together(store_url)
    finally:
        stop.touch()
        _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err.decode()[-2000:]


def test_processes_waiting_on_a_held_lock_all_open_the_lease_table(
    new_store: Callable[[], str],
) -> None:
    """The lease table made before leases named their incarnation, locked by a writer while
    PROCESSES processes open it: each reads the column missing before any can add it, and all
    must still open once the lock is let go (all but one were refused a duplicate column)."""
    url = new_store()
    make_lease_table_without_incarnation(url)
    with holding_the_lease_table(url):
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_LEASES_WHEN_TOLD],
                env=os.environ | {"REGFLOW_DATABASE_URL": url},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(PROCESSES)
        ]
        for process in processes:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(b"go\n")
            process.stdin.flush()
            assert process.stdout.readline() == b"opening\n"
        time.sleep(2)  # each is now behind the lock, however far it got
    failures = [p.communicate(timeout=120)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0] * PROCESSES, [f for f in failures if f][:1]


OPEN_LEASES_WHEN_TOLD = f"""
import sys
from infrastructure.engine.leases import open_leases
from infrastructure.settings import Settings
settings = Settings(_env_file=None, secret_key={TEST_SECRET!r})
sys.stdin.readline()
print("opening", flush=True)
open_leases(settings).close()
"""


def make_lease_table_without_incarnation(url: str) -> None:
    """The lease table as stores made before the incarnation column hold it."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(sqlite_path(url))) as conn:
            conn.execute(
                f"CREATE TABLE {LEASES} (job_id TEXT PRIMARY KEY, "
                "worker_id TEXT NOT NULL, expires_at REAL NOT NULL)"
            )
            conn.commit()
        return
    with psycopg.connect(url) as conn:
        conn.execute(
            f"CREATE TABLE {LEASES} (job_id text PRIMARY KEY, "
            "worker_id text NOT NULL, expires_at timestamptz NOT NULL)"
        )


@contextmanager
def holding_the_lease_table(url: str) -> Iterator[None]:
    """A writer holding the store's write lock (SQLite) or the lease table's (PostgreSQL)."""
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(sqlite_path(url), isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("COMMIT")
        return
    with psycopg.connect(url) as conn:
        conn.execute(f"LOCK TABLE {LEASES} IN ACCESS EXCLUSIVE MODE")
        yield


def sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]
