"""Turns Settings into the `eventsourcing` library's environment (recorder, cipher, pools)."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from infrastructure.settings import Settings, reveal

log = logging.getLogger("regflow.persistence")

APPLICATION_NAME = "registrations"
SCHEMA_LOCK = 0x5E70  # advisory lock held while any process creates regflow's tables


def key_file(settings: Settings) -> Path:
    """Where the development key lives when REGFLOW_SECRET_KEY is unset."""
    if settings.is_postgres or settings.is_in_memory:
        return Path(".regflow-secret-key").resolve()
    return Path(settings.sqlite_path).resolve().with_suffix(".key")


def passphrase(settings: Settings) -> tuple[str, bool]:
    """The passphrase that wraps the store's keys, and whether it is a development one."""
    if given := reveal(settings.secret_key):
        return given, False
    path = key_file(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip(), True


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Hold the schema lock: processes starting together on PostgreSQL create tables in turn."""
    if not settings.is_postgres:
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
