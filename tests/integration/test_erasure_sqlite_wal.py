"""An erasure on a SQLite file: once done, no byte of the file or of its write-ahead log holds
the organisation's personal data or its destroyed key, though another connection had the file
open (as a running `serve` has) while it ran (SPEC section 3: erasure forgets). The steps are
those `regflow erase-organisation --yes` takes: keys destroyed, views rebuilt, disk forgotten."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.keys.ring import org_owner
from infrastructure.settings import Settings, reveal
from infrastructure.sqlite_wal import CHECKPOINT_SECONDS
from infrastructure.usecases.erasure import erase_organisation, erasure_plan, forget_on_disk
from infrastructure.usecases.registrations import Registrations
from projections.live.service import ReadModelService
from projections.offline.rebuild import rebuild_all
from tests.conftest import unique_org
from tests.integration.test_erasure import table_texts

READER_HOLDS = 1.0  # seconds a reader of another connection keeps the log from being truncated


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: PostgreSQL's write-ahead log is the server's, beyond regflow's reach."""
    return f"sqlite:///{tmp_path / 'regflow.db'}"


@pytest.fixture
def views(settings: Settings, app: Registrations) -> Iterator[ReadModelService]:
    """The read models kept current beside the erasure, as a running `serve` keeps them."""
    service = ReadModelService(settings, app)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def planted(app: Registrations, org: str) -> dict[str, str]:
    """A job of `org` whose config holds an email, a phone and an address: unique values under
    names the classifier reads as personal, to look for in the file's bytes."""
    tag = uuid.uuid4().hex[:12]
    values = {
        "email": f"wal-{tag}@erase.example",
        "phone": f"+64 21 {tag[:6]}",
        "address": f"{tag} Ponsonby Road",
    }
    config = {
        "account": {"email": values["email"], "phone": values["phone"], "password": "pw"},
        "restaurant": {"address": {"street": values["address"]}},
    }
    app.create_batch(org, "user:u-1", "wal", [{"name": "Diner", "execution_config": config}])
    return values


def wrapped_key(app: Registrations, org: str) -> bytes:
    with app.key_table.transaction(write=False) as cur:
        (row,) = app.key_table.rows(cur, org_owner(org))
    assert row.wrapped is not None
    wrapped = row.wrapped
    return wrapped.encode() if isinstance(wrapped, str) else bytes(wrapped)


def on_disk(settings: Settings, values: list[bytes]) -> list[tuple[str, bytes]]:
    """Which of `values` the database file or its write-ahead log holds, byte for byte."""
    path = Path(settings.sqlite_path)
    files = [f for f in (path, path.with_name(path.name + "-wal")) if f.exists()]
    return [(f.name, v) for f in files for v in values if v in f.read_bytes()]


class Reader:
    """Another connection on the file in a read transaction, ended after `seconds` (or when
    closed)."""

    def __init__(self, settings: Settings, seconds: float) -> None:
        self.conn = sqlite3.connect(settings.sqlite_path, check_same_thread=False)
        self.conn.isolation_level = None
        self.conn.execute("BEGIN")
        self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        self.ended = threading.Lock()
        self.timer = threading.Timer(seconds, self.end)
        self.timer.start()

    def end(self) -> None:
        with self.ended:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")

    def close(self) -> None:
        self.timer.cancel()
        self.end()
        self.conn.close()


def erase(app: Registrations, org: str, reader_holds: float) -> list[str]:
    """`erase-organisation ORG --yes`'s steps, a reader on the file the while."""
    reader = Reader(app.settings, reader_holds)
    try:
        erase_organisation(app, erasure_plan(app, org, 1, 1), "cli:test")
        rebuild_all(app.settings, app)
        return forget_on_disk(app.settings)
    finally:
        reader.close()


class TestErasureLeavesNoBytesOnDisk:
    def test_neither_the_file_nor_its_log_holds_the_erased_data_or_key(
        self, app: Registrations, settings: Settings, views: ReadModelService
    ) -> None:
        gone, kept = unique_org(), unique_org()
        gone_values, kept_values = planted(app, gone), planted(app, kept)
        views.catch_up(60)
        secrets = [v.encode() for v in gone_values.values()] + [wrapped_key(app, gone)]
        assert {v for _, v in on_disk(settings, secrets)} == set(secrets), "planted, found"

        assert erase(app, gone, READER_HOLDS) == []
        views.catch_up(60)

        assert on_disk(settings, secrets) == []
        text = table_texts(settings)
        assert all(v in text for v in kept_values.values())

    def test_a_log_a_reader_keeps_from_truncating_is_reported(
        self, app: Registrations, settings: Settings
    ) -> None:
        org = unique_org()
        planted(app, org)
        reader = Reader(settings, CHECKPOINT_SECONDS + 5)  # past a truncation's patience
        try:
            warnings = forget_on_disk(settings)
        finally:
            reader.close()
        assert len(warnings) == 1 and "regflow.db-wal could not be truncated" in warnings[0]
        assert forget_on_disk(settings) == []


def test_the_erase_command_leaves_no_byte_of_the_organisation_on_disk(
    app: Registrations,
    settings: Settings,
    views: ReadModelService,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """`regflow erase-organisation ORG --yes` itself, with the views running beside it as a
    `serve` runs them: its own steps, in its own order."""
    from api.cli import main

    org, other = unique_org(), unique_org()
    values = planted(app, org)
    kept = planted(app, other)
    views.catch_up(60)
    secrets = [v.encode() for v in values.values()] + [wrapped_key(app, org)]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{settings.sqlite_path}")
    monkeypatch.setenv("REGFLOW_SECRET_KEY", str(reveal(settings.secret_key)))
    reader = Reader(settings, READER_HOLDS)
    try:
        assert main(["erase-organisation", org, "--yes"]) == 0
    finally:
        reader.close()
    assert on_disk(settings, secrets) == []
    text = table_texts(settings)
    assert all(v in text for v in kept.values())
