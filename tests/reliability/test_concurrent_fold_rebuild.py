"""Processes starting together on views built by older folds: one of them rebuilds each view,
once, and the views then equal a rebuild from the log."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing

import pytest

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import fold_versions
from projections.offline.rebuild import verify
from tests.conftest import new_database, store_settings
from tests.integration.fold_kit import opened, store_versions, stored
from tests.integration.test_projections_rebuild import every_kind_of_change

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# As `serve` opens the views: start the runner, and stop once the views are this release's and
# have applied the whole log.
START_THE_VIEWS = """
import logging, sys, time
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import fold_versions
from projections.live.service import ReadModelService
from projections.offline.rebuild import rebuilder
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(process)d %(message)s")
settings = Settings(_env_file=None, secret_key="test-passphrase")
app = Registrations(settings)
views = ReadModelService(settings, app, rebuild=rebuilder(settings, app))
views.start()
deadline = time.monotonic() + 120
while views.schema.fold_versions(views.db) != fold_versions() and time.monotonic() < deadline:
    time.sleep(0.05)
views.catch_up(120)
views.stop(); app.close()
"""


@pytest.fixture
def settings(pg_url: str) -> Iterator[Settings]:
    with new_database("regflow_fold_start") as (_, url):
        yield store_settings(url)


def test_processes_starting_at_once_rebuild_each_view_once(settings: Settings) -> None:
    with closing(Registrations(settings)) as app:
        every_kind_of_change(app)
        with closing(opened(settings, app)) as views:
            views.catch_up()
        store_versions(settings, job_progress=None, batch_summaries=0, job_timeline=None)
        env = os.environ | {"REGFLOW_DATABASE_URL": settings.database_url}
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", START_THE_VIEWS], env=env, stderr=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        logs = [p.communicate(timeout=180)[1] for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], logs
        lines = [line for log in logs for line in log.splitlines() if "rebuilding it" in line]
        assert sorted(line.split(" ", 3)[2] for line in lines) == [
            "batch_summaries:",
            "job_progress:",
            "job_timeline:",
        ]
        assert stored(settings) == fold_versions()
        assert verify(settings, app) == []
