"""Processes starting together on one store all start: on a new store they create its tables
in turn, and on a store in use they start beside a process writing to it, on both stores."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

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
