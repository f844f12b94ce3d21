"""`regflow batch run` runs and waits for its own batch, and rides out a dropped connection."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.cli import main
from infrastructure.engine import open_leases
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import start_batch
from tests.conftest import TEST_SECRET, unique_org
from tests.kit import restaurants


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment `batch run` reads, on the test's store; the batch file it runs."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("REGFLOW_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("REGFLOW_REGISTRATION_API_URL", "simulator")
    monkeypatch.setenv("REGFLOW_WORKER_ID", f"cli-{uuid.uuid4().hex[:6]}")
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(restaurants(2)))
    return batch


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_a_batch_run_neither_runs_nor_waits_for_another_organisations_jobs(
    app: Registrations, settings: Settings, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    [other] = start_batch(app, restaurants(1))
    leases = open_leases(settings)
    assert leases.claim(other, "a-worker-elsewhere", 300)  # busy for the whole test
    before = len(list(app.events.get(app.job(other).id)))
    try:
        argv = ["batch", "run", str(cli_env), "--org", unique_org(), "--json", "--timeout", "20"]
        code, summary = run_json(argv, capsys)
        assert (code, summary["finished"]) == (0, True), summary
        assert len(list(app.events.get(app.job(other).id))) == before
    finally:
        leases.release([other], "a-worker-elsewhere")
        leases.close()


def test_a_connection_dropped_at_the_summary_is_tried_again(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = {"count": 0}
    jobs = Registrations.jobs

    def dropped_once(self: Registrations, job_ids: list[str]) -> Any:
        reads["count"] += 1
        if reads["count"] == 2:  # the first is the start's; the second, the summary's
            raise psycopg.OperationalError("consuming input failed: server closed the connection")
        return jobs(self, job_ids)

    monkeypatch.setattr(Registrations, "jobs", dropped_once)
    argv = ["batch", "run", str(cli_env), "--org", unique_org(), "--json", "--timeout", "60"]
    code, summary = run_json(argv, capsys)
    assert reads["count"] >= 3, "the summary's read was tried again"
    assert (code, summary["jobs"]) == (0, {"completed": 2}), summary
