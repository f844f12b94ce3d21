"""Shared fixtures: a fresh PostgreSQL database per session, SQLite files per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

PG_ADMIN_URL = os.environ.get("REGFLOW_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def _server_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    problem = _server_reachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    with new_database("regflow_test") as (_, url):
        yield url


@contextmanager
def new_database(prefix: str) -> Iterator[tuple[str, str]]:
    """A new PostgreSQL database named after `prefix`: its name and URL; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cut_off(name: str, allowed: bool) -> None:
    """Refuse (or allow again) every connection to the database, ending those that exist."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def end_connections(url: str, application_name: str | None = None) -> int:
    """End the connections to the database `url` names (only those of `application_name`,
    when given) as a restart or a failover does; new ones are allowed at once. How many."""
    with psycopg.connect(url, autocommit=True) as conn:
        ended = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND (%s::text IS NULL OR application_name = %s)",
            (application_name, application_name),
        ).fetchone()
    return int(ended[0]) if ended else 0


def own_database_url(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> Iterator[str]:
    """A store of one test's own, on the store its fixture's param names: a SQLite file, or
    a new PostgreSQL database named after `prefix` (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'regflow.db'}"
        return
    request.applymarker(pytest.mark.postgres)
    request.getfixturevalue("pg_url")  # skipped (or failed in CI) without the server
    with new_database(prefix) as (_, url):
        yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store the tests of one module share and no other module does, on each store."""
    yield from own_database_url(request, tmp_path_factory.mktemp("store"), "regflow_module")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'regflow.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'regflow.db'}"


TEST_SECRET = "test-passphrase"


def store_settings(database_url: str, **fields: Any) -> Settings:
    """Settings on `database_url` with the one key every test uses (tests share a database)."""
    return Settings(_env_file=None, database_url=database_url, secret_key=TEST_SECRET, **fields)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return store_settings(database_url, worker_id=f"test-worker-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def app(settings: Settings) -> Iterator[Registrations]:
    """The use-case layer on a real store (SQLite file or the session's PostgreSQL)."""
    with closing(Registrations(settings)) as registrations:
        yield registrations


def unique_org() -> str:
    """An organisation id no other test uses, so tests can share a database."""
    return f"org-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def spans() -> Iterator[Any]:
    """Tracing on, into an in-memory exporter (the SDK is loaded only by tests that ask)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from infrastructure import tracing

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()
