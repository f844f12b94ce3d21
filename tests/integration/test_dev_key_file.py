"""The development key file (REGFLOW_SECRET_KEY unset): made together with a new store and only
then; beside a store that holds keys or events, a missing one is said in one line (exit 2) and
nothing is written, whatever the command."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from api.cli import main
from infrastructure.persistence import key_file
from infrastructure.settings import Settings
from tests.conftest import new_database
from tests.integration.audit_kit import RESTAURANT, Run

COULD_NOT_RUN = 2
JOB = "00000000-0000-4000-8000-000000000000"
COMMANDS = [
    ["batches", "--all"],
    ["check-db"],
    ["events", JOB],
    ["state", JOB],
    ["jobs", JOB],
    ["export"],
    ["verify-log"],
    ["replay", "--verify"],
    ["rebuild-projections"],
    ["rotate-keys"],
    ["erase-organisation", "dev", "--yes"],
    ["import-legacy", "legacy.json"],
    ["resume", JOB],
    ["cancel", JOB],
    ["mark", JOB, "menuImport", "failed", "--reason", "r"],
    ["reset", JOB, "menuImport", "--reason", "r"],
    ["work", "--until-idle", "--timeout", "30"],
    ["batch", "run", "batch.json", "--timeout", "30"],
    ["serve", "--port", "1"],  # refused before it would listen (a port it may not take)
]


def regflow(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def everything_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder for an SQLite store, the working directory, with REGFLOW_SECRET_KEY unset."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REGFLOW_SECRET_KEY", raising=False)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{folder / 'regflow.db'}")
    (tmp_path / "legacy.json").write_text("[]")
    (tmp_path / "batch.json").write_text(json.dumps([RESTAURANT]))
    return folder


@pytest.fixture
def without_its_key(store: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A store made with a development key, copied without its key file (a backup of the
    database alone, restored)."""
    assert regflow(capsys, "batch", "run", "batch.json").code == 0
    (store / "regflow.key").unlink()
    for kept in store.glob("*.lock"):
        kept.unlink()  # the worker id's lock file beside the store: not in the backup either
    return store


class TestAStoreWithoutItsKeyFile:
    @pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
    def test_is_refused_naming_the_file_and_nothing_is_written(
        self, without_its_key: Path, capsys: pytest.CaptureFixture[str], command: list[str]
    ) -> None:
        before = everything_in(without_its_key)
        run = regflow(capsys, *command)
        assert run.code == COULD_NOT_RUN and "Traceback" not in run.err, run.err
        [line] = run.err.splitlines()
        assert f"the development key file {without_its_key / 'regflow.key'} is missing" in line
        assert "was made with the key" not in line  # the store may have had a passphrase
        assert "REGFLOW_SECRET_KEY" in line and "passphrase the store was created with" in line
        assert everything_in(without_its_key) == before

    def test_opens_again_once_the_file_is_restored(
        self, store: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert regflow(capsys, "batch", "run", "batch.json").code == 0
        (store / "regflow.key").rename(store.parent / "saved.key")
        assert regflow(capsys, "batches").code == COULD_NOT_RUN
        (store.parent / "saved.key").rename(store / "regflow.key")
        run = regflow(capsys, "batches", "--json")
        assert run.code == 0 and len(json.loads(run.out)) == 1


@pytest.mark.parametrize("written", ["", "not the key it was made with", "\x00\xff"])
def test_a_store_whose_key_file_is_changed_is_refused_naming_the_file_not_the_variable(
    store: Path, capsys: pytest.CaptureFixture[str], written: str
) -> None:
    """REGFLOW_SECRET_KEY is unset: the refusal said it did not open the store's keys."""
    assert regflow(capsys, "batch", "run", "batch.json").code == 0
    (store / "regflow.key").write_text(written, errors="surrogateescape")
    run = regflow(capsys, "batches")
    assert run.code == COULD_NOT_RUN and "Traceback" not in run.err, run.err
    assert f"the development key file {store / 'regflow.key'} does not open" in run.err
    assert not run.err.startswith("error: REGFLOW_SECRET_KEY")


class TestANewStore:
    def test_gets_a_key_file_that_opens_it_afterwards(
        self, store: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert regflow(capsys, "check-db").code == 0
        made = (store / "regflow.key").read_text()
        assert regflow(capsys, "batch", "run", "batch.json").code == 0
        assert regflow(capsys, "batches").code == 0
        assert (store / "regflow.key").read_text() == made

    @pytest.mark.parametrize("tables", [[], ["CREATE TABLE notes (text TEXT)"]])
    def test_a_database_without_regflow_tables_is_a_new_store(
        self, store: Path, capsys: pytest.CaptureFixture[str], tables: list[str]
    ) -> None:
        with closing(sqlite3.connect(store / "regflow.db")) as conn:
            for sql in tables:
                conn.execute(sql)
        assert regflow(capsys, "check-db").code == 0
        assert (store / "regflow.key").exists()


class TestNoKeyFileBesideWhatIsNoStore:
    def test_a_file_that_is_not_a_database(
        self, store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (store / "notes.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
        monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{store / 'notes.txt'}")
        for command in (["batches"], ["check-db"], ["batch", "run", "batch.json"]):
            run = regflow(capsys, *command)
            assert run.code == COULD_NOT_RUN and "file is not a database" in run.err
        assert sorted(p.name for p in store.iterdir()) == ["notes.txt"]

    def test_a_directory(
        self, store: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (store / "folder").mkdir()
        monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{store / 'folder'}")
        for command in (["batches"], ["check-db"]):
            assert regflow(capsys, *command).code == COULD_NOT_RUN
        assert sorted(p.name for p in store.iterdir()) == ["folder"]


@pytest.fixture
def postgres_url(pg_url: str) -> Iterator[str]:
    """A database no other test shares: its store is made with a development key."""
    with new_database("regflow_devkey") as (_, url):
        yield url


def tables_in(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return sorted(r[0] for r in rows)


@pytest.mark.postgres
class TestAPostgreSQLStoreWithoutItsPassphrase:
    @pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
    def test_is_refused_naming_the_variable_and_nothing_is_made(
        self,
        postgres_url: str,
        store: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        command: list[str],
    ) -> None:
        """A read (an audit, a look before the first `serve`) as much as a write: a key made
        here would lock the store under a passphrase only this folder holds."""
        monkeypatch.setenv("REGFLOW_DATABASE_URL", postgres_url)
        monkeypatch.setenv("REGFLOW_REGISTRATION_API_URL", "simulator")  # asked first
        folder = store.parent
        before = everything_in(folder)
        run = regflow(capsys, *command)
        assert run.code == COULD_NOT_RUN and "Traceback" not in run.err, run.err
        [line] = run.err.splitlines()
        assert "REGFLOW_SECRET_KEY is unset for the PostgreSQL store" in line
        assert everything_in(folder) == before
        assert tables_in(postgres_url) == []

    def test_made_with_a_development_key_opens_from_its_folder_or_with_the_key_given(
        self,
        postgres_url: str,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A store an earlier release made with a development key file keeps opening where
        that file is; elsewhere the refusal names the file, and its content opens the store."""
        monkeypatch.delenv("REGFLOW_SECRET_KEY", raising=False)
        monkeypatch.setenv("REGFLOW_DATABASE_URL", postgres_url)
        (tmp_path / "first").mkdir()
        (tmp_path / "elsewhere").mkdir()
        monkeypatch.chdir(tmp_path / "first")
        kept = tmp_path / "first" / ".regflow-secret-key"
        kept.write_text("a development passphrase made before")
        assert key_file(Settings(_env_file=None, database_url=postgres_url)) == kept
        assert regflow(capsys, "check-db").code == 0
        assert regflow(capsys, "batches", "--all").code == 0
        monkeypatch.chdir(tmp_path / "elsewhere")
        run = regflow(capsys, "batches", "--all")
        assert run.code == COULD_NOT_RUN
        assert "REGFLOW_SECRET_KEY is unset" in run.err and ".regflow-secret-key" in run.err
        assert list((tmp_path / "elsewhere").iterdir()) == []
        monkeypatch.setenv("REGFLOW_SECRET_KEY", kept.read_text())
        assert regflow(capsys, "batches", "--all").code == 0
