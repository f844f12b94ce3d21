"""Envelope keys on a store of their own: rotation, a wrong passphrase, an old store's upgrade."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.application import Application

from domain.job import RegistrationJob
from infrastructure.keys.ring import WrongPassphrase, legacy_store_key
from infrastructure.persistence import APPLICATION_NAME, library_env
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import new_database
from tests.integration.audit_kit import RESTAURANT, Cli, Run

OLD, NEW = "old-passphrase", "new-passphrase"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store no other test shares: rotation changes the passphrase of the whole store."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keys.db'}"
        return
    request.getfixturevalue("pg_url")  # skips, or fails in CI, when PostgreSQL is unreachable
    with new_database("regflow_keys") as (_, url):
        yield url


@pytest.fixture
def regflow(
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Cli:
    """`regflow ARGS...` on the store, with REGFLOW_SECRET_KEY set by each test."""
    from api.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", store_url)

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def opened(url: str, passphrase: str) -> Registrations:
    return Registrations(Settings(_env_file=None, database_url=url, secret_key=passphrase))


def jobs_with_secrets(url: str, passphrase: str) -> dict[str, dict[str, object]]:
    app = opened(url, passphrase)
    try:
        ids = {}
        for org in ("org-a", "org-b"):
            batch, jobs, _ = app.create_batch(org, "user:u-1", "keys", [RESTAURANT])
            app.start_step6(org, batch.id, None, "user:u-1")
            ids[str(jobs[0].id)] = app.job(jobs[0].id).execution_config
        return ids
    finally:
        app.close()


class TestRotation:
    def test_rotate_then_only_the_new_passphrase_reads_everything(
        self, store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        configs = jobs_with_secrets(store_url, OLD)
        monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
        monkeypatch.setenv("REGFLOW_OLD_SECRET_KEYS", f"not-this-one, {OLD}")
        rotated = regflow("rotate-keys")
        assert rotated.code == 0 and "re-wrapped 3 keys" in rotated.out
        monkeypatch.delenv("REGFLOW_OLD_SECRET_KEYS")
        app = opened(store_url, NEW)
        try:
            assert {job_id: app.job(job_id).execution_config for job_id in configs} == configs
        finally:
            app.close()
        assert regflow("rebuild-projections").code == 0
        assert regflow("replay", "--verify").code == 0
        assert regflow("verify-log").code == 0
        with pytest.raises(WrongPassphrase):
            opened(store_url, OLD)

    def test_without_the_old_passphrase_nothing_is_rewrapped(
        self, store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        jobs_with_secrets(store_url, OLD)
        monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
        refused = regflow("rotate-keys")
        assert refused.code == 2 and "REGFLOW_OLD_SECRET_KEYS" in refused.err  # could not run
        opened(store_url, OLD).close()

    def test_a_wrong_passphrase_is_a_clear_error_at_start(
        self, store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        jobs_with_secrets(store_url, OLD)
        monkeypatch.setenv("REGFLOW_SECRET_KEY", "wrong")
        run = regflow("check-db")
        assert run.code == 2  # could not run: a store its settings cannot open
        assert "REGFLOW_SECRET_KEY does not open this store's keys" in run.err
        assert "Traceback" not in run.err + run.out


class LegacyStore(Application[uuid.UUID]):
    name = APPLICATION_NAME


class TestOldStore:
    def old_store(self, url: str, passphrase: str) -> str:
        """A store as regflow wrote it before envelope keys: the passphrase's key, no table."""
        settings = Settings(_env_file=None, database_url=url, secret_key=passphrase)
        env = library_env(settings, legacy_store_key(passphrase))
        legacy = LegacyStore(env=env)
        job = RegistrationJob.register(uuid.uuid4(), "org-a", {"name": "Old"}, {"k": 1}, "u")
        legacy.save(job)
        legacy.close()
        return str(job.id)

    def test_an_old_store_is_upgraded_in_place_on_first_start(
        self, store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        job_id = self.old_store(store_url, OLD)
        app = opened(store_url, OLD)
        try:
            assert app.job(job_id).restaurant == {"name": "Old"}
        finally:
            app.close()
        monkeypatch.setenv("REGFLOW_SECRET_KEY", OLD)
        assert regflow("verify-log").code == 0

    def test_an_old_store_with_a_wrong_passphrase_is_refused_and_left_as_it_was(
        self, store_url: str
    ) -> None:
        job_id = self.old_store(store_url, OLD)
        with pytest.raises(WrongPassphrase, match="does not decrypt this store's events"):
            opened(store_url, "wrong")
        app = opened(store_url, OLD)
        try:
            assert app.job(job_id).restaurant == {"name": "Old"}
        finally:
            app.close()


def test_a_process_started_before_a_rotation_makes_no_key_the_new_passphrase_cannot_open(
    store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs_with_secrets(store_url, OLD)
    running = opened(store_url, OLD)
    try:
        monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
        monkeypatch.setenv("REGFLOW_OLD_SECRET_KEYS", OLD)
        assert regflow("rotate-keys").code == 0
        with pytest.raises(WrongPassphrase, match="restart it with the current"):
            running.create_batch("org-new", "user:u-1", "after", [RESTAURANT])
    finally:
        running.close()
    assert jobs_with_secrets(store_url, NEW)


def cursor_key(url: str, passphrase: str) -> bytes:
    app = opened(url, passphrase)
    try:
        return app.cursor_key
    finally:
        app.close()


def test_the_cursor_key_is_the_store_s_across_processes_and_rotations(
    store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = cursor_key(store_url, OLD)
    assert cursor_key(store_url, OLD) == key
    monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
    monkeypatch.setenv("REGFLOW_OLD_SECRET_KEYS", OLD)
    assert regflow("rotate-keys").code == 0
    assert cursor_key(store_url, NEW) == key
    for other in (OLD, NEW):  # another store: another key, whatever its passphrase
        assert cursor_key(f"sqlite:///{tmp_path / f'other-{other}.db'}", other) != key
