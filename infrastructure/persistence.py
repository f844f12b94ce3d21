"""Turns Settings into the `eventsourcing` library's environment (recorder, cipher, pools)."""

from __future__ import annotations

import base64
import fcntl
import logging
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from eventsourcing.sqlite import SQLiteConnectionPool

from domain.exceptions import RegflowError
from infrastructure.keys.table import TABLE as KEYS_TABLE
from infrastructure.keys.table import events_table
from infrastructure.settings import Settings, reveal

log = logging.getLogger("regflow.persistence")

APPLICATION_NAME = "registrations"
SCHEMA_LOCK = 0x5E70  # advisory lock held while any process creates regflow's tables


class KeyFileMissing(RegflowError):
    """REGFLOW_SECRET_KEY is unset and the development key file of an SQLite store made with
    one is gone: a new key would not open the store's keys, so none is made."""

    def __init__(self, path: Path, settings: Settings) -> None:
        super().__init__(
            f"REGFLOW_SECRET_KEY is unset and the development key file {path} is missing, "
            f"while the SQLite store at {settings.data_location} already holds keys or events: "
            "a new key would not open them, so none is made. Set REGFLOW_SECRET_KEY to the "
            "passphrase the store was created with, or, if it was made with a development key, "
            "restore that file there."
        )


class SecretKeyRequired(RegflowError):
    """REGFLOW_SECRET_KEY is unset for a PostgreSQL store and no development key file is here:
    none is made, since every process on the store (on other machines, from other folders)
    needs the passphrase, and a command run once without it would wrap the store's keys under
    a passphrase only that folder holds."""

    def __init__(self, path: Path, settings: Settings) -> None:
        super().__init__(
            f"REGFLOW_SECRET_KEY is unset for the PostgreSQL store at {settings.data_location}: "
            "set it to the store's passphrase (the same in every process on the store); no "
            "development key is made for PostgreSQL. A store made before with a development "
            f"key has its passphrase in the {path.name} file of the folder it was first run "
            "from: run there, or set REGFLOW_SECRET_KEY to that file's content."
        )


def key_file(settings: Settings) -> Path:
    """Where the development key lives when REGFLOW_SECRET_KEY is unset."""
    if settings.is_postgres or settings.is_in_memory:
        return Path(".regflow-secret-key").resolve()
    return Path(settings.sqlite_path).resolve().with_suffix(".key")


def passphrase(settings: Settings) -> tuple[str, bool]:
    """The passphrase that wraps the store's keys, and whether it is a development one.

    A development key is made only together with a new store: beside a store that holds keys
    or events already, a missing key file is KeyFileMissing, and nothing is written."""
    if given := reveal(settings.secret_key):
        return given, False
    path = key_file(settings)
    require_key_file(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip(), True


def require_key_file(settings: Settings) -> None:
    """Refuse a PostgreSQL store with neither REGFLOW_SECRET_KEY nor a development key file
    made before (SecretKeyRequired), and an SQLite store made with a development key whose key
    file is gone (KeyFileMissing); with REGFLOW_SECRET_KEY set there is nothing to check."""
    if reveal(settings.secret_key):
        return
    path = key_file(settings)
    if settings.is_postgres:
        if not path.exists():
            raise SecretKeyRequired(path, settings)
        return
    # The key file is made before the store's tables: once they are there, so is the file of
    # a process making the store now, hence the second look.
    if not path.exists() and holds_keys_or_events(settings) and not path.exists():
        raise KeyFileMissing(path, settings)


def holds_keys_or_events(settings: Settings) -> bool:
    """Whether the store holds regflow's keys or events (read only: an SQLite file that is not
    there is not made, and one that is not a database raises what it is)."""
    if settings.is_in_memory:
        return False
    if settings.is_postgres:
        with psycopg.connect(settings.postgres_conninfo(), connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL OR to_regclass(%s) IS NOT NULL",
                (KEYS_TABLE, events_table(is_postgres=True)),
            ).fetchone()
            return bool(row and row[0])
    database = Path(settings.sqlite_path).resolve()
    if not database.exists():
        return False
    uri = f"file:{quote(str(database))}?mode=rw"  # never creates the file
    with closing(sqlite3.connect(uri, uri=True, timeout=10)) as conn:
        names = (KEYS_TABLE, events_table(is_postgres=False))
        marks = ",".join("?" * len(names))
        sql = f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ({marks})"
        return bool(conn.execute(sql, names).fetchone()[0])


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Hold the schema lock: processes starting together on one store create tables in turn.

    On PostgreSQL an advisory lock. On a SQLite file, an exclusive lock on the file
    `<store>-schema-lock` beside it (SQLite's own locks end with each transaction, and two
    processes turning one new file to WAL at once failed: one of them at once, "database is
    locked"). Either is let go when its process ends, however it ends."""
    in_memory = not settings.is_postgres and SQLiteConnectionPool.detect_memory_mode(
        settings.sqlite_path
    )
    if in_memory:  # `:memory:`, or a `file:` name in memory mode: one process's store
        yield
        return
    if not settings.is_postgres:
        path = Path(settings.sqlite_path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}-schema-lock", "ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True, connect_timeout=5) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def library_env(settings: Settings, store_key: bytes) -> dict[str, str]:
    """The environment the eventsourcing Application reads its persistence from."""
    env = {
        "CREATE_TABLE": "y",
        "CIPHER_TOPIC": "infrastructure.keys.store_cipher:StoreCipher",
        "TRANSCODER_TOPIC": "infrastructure.transcoder:FastJSONTranscoder",
        "CIPHER_KEY": base64.b64encode(store_key).decode(),
    }
    if settings.is_postgres:
        parts = settings.postgres_parts()
        env.update(
            PERSISTENCE_MODULE="infrastructure.chain.postgres",
            POSTGRES_DBNAME=parts["dbname"],
            POSTGRES_HOST=parts["host"],
            POSTGRES_PORT=parts["port"],
            POSTGRES_USER=parts["user"],
            POSTGRES_PASSWORD=parts["password"],
            POSTGRES_EXTRA_CONNINFO=settings.postgres_extra(),
            POSTGRES_POOL_SIZE=str(settings.postgres_pool_size),
            POSTGRES_MAX_OVERFLOW=str(settings.postgres_pool_size),
            POSTGRES_CONNECT_TIMEOUT="5",
            # No ping before each use (a round trip per read and write): the library retries
            # a read or write that meets a dropped connection, and a commit lost in flight
            # is checked by `StorageRetry` before anything is written again.
            POSTGRES_PRE_PING="n",
            POSTGRES_LOCK_TIMEOUT="10",
            POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT="30",
        )
    else:
        path = settings.sqlite_path
        if not settings.is_in_memory:
            Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)
        env.update(
            PERSISTENCE_MODULE="infrastructure.chain.sqlite",
            SQLITE_DBNAME="file::memory:?cache=shared" if settings.is_in_memory else path,
            SQLITE_LOCK_TIMEOUT="10",
        )
    return env
