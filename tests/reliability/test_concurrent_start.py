"""Processes starting together on a fresh PostgreSQL database create its tables in turn."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import new_database

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

START_EVERYTHING = """
from infrastructure.engine.leases import open_leases
from infrastructure.usecases.registrations import Registrations
from infrastructure.settings import Settings
from projections.live.service import ReadModelService
settings = Settings(_env_file=None, secret_key="test-passphrase")
app = Registrations(settings)
leases = open_leases(settings)
views = ReadModelService(settings, app)
views.catch_up()
views.stop(); leases.close(); app.close()
"""


@pytest.fixture
def empty_database(pg_url: str) -> Iterator[str]:
    with new_database("regflow_start") as (_, url):
        yield url


def test_six_processes_starting_at_once_all_start(empty_database: str) -> None:
    env = os.environ | {"REGFLOW_DATABASE_URL": empty_database}
    processes = [
        subprocess.Popen([sys.executable, "-c", START_EVERYTHING], env=env, stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    failures = [p.communicate(timeout=120)[1].decode() for p in processes]
    assert [p.returncode for p in processes] == [0] * 6, [f for f in failures if f][:1]
