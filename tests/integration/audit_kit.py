"""For the audit CLI tests: run `regflow` in-process, reach the stored log with raw SQL."""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from api.cli import main
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.kit import restaurant

RESTAURANT = restaurant("Buzz", "r-17", password="hunter2-secret")


@dataclass(frozen=True)
class Run:
    """What one `regflow` invocation returned and printed."""

    code: int
    out: str
    err: str

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


Cli = Callable[..., Run]


@pytest.fixture
def cli(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Cli:
    """`regflow ARGS...` against the test's store (made if it is not there yet: commands that
    only read refuse a store that is not there), with its output captured."""
    Registrations(settings).close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REGFLOW_SECRET_KEY", "test-passphrase")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> Run:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parsers of `parser`'s subcommands, by name."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return {name: sub for group in groups for name, sub in group.choices.items()}


def new_job(app: Registrations, org: str) -> tuple[str, str]:
    """A batch of one pending job; returns (batch id, job id)."""
    batch, jobs, _ = app.create_batch(org, "user:u-1", "audit", [RESTAURANT])
    return str(batch.id), str(jobs[0].id)


class RawLog:
    """Raw SQL on the events and chain tables, as someone tampering with the database would."""

    def __init__(self, settings: Settings, app: Registrations) -> None:
        self.settings = settings
        self.events: str = app.recorder.events_table_name
        self.chain: str = app.recorder.chain_table_name

    def key(self, aggregate_id: str) -> Any:
        return UUID(aggregate_id) if self.settings.is_postgres else UUID(aggregate_id).hex

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.settings.is_postgres:
            with psycopg.connect(self.settings.database_url, autocommit=True) as conn:
                cur = conn.execute(sql.replace("?", "%s"), params)
                return cur.fetchall() if cur.description else []
        with closing(sqlite3.connect(self.settings.sqlite_path)) as conn:
            rows = conn.execute(sql, params).fetchall()
            conn.commit()
            return rows

    def event(self, aggregate_id: str, version: int) -> tuple[str, bytes]:
        sql = (
            f"SELECT topic, state FROM {self.events} WHERE originator_id=? AND originator_version=?"
        )
        topic, state = self.run(sql, (self.key(aggregate_id), version))[0]
        return topic, bytes(state)

    def put(self, aggregate_id: str, version: int, topic: str, state: bytes) -> None:
        where = "WHERE originator_id=? AND originator_version=?"
        sql = f"UPDATE {self.events} SET topic=?, state=? {where}"
        self.run(sql, (topic, state, self.key(aggregate_id), version))

    def delete(self, aggregate_id: str, version: int, table: str | None = None) -> None:
        sql = f"DELETE FROM {table or self.events} WHERE originator_id=? AND originator_version=?"
        self.run(sql, (self.key(aggregate_id), version))


@contextmanager
def restoring(log: RawLog, aggregate_id: str) -> Iterator[None]:
    """Put the aggregate's stored rows back afterwards, so a shared database stays intact."""
    columns = "originator_id, originator_version, topic, state" + (
        ", notification_id" if log.settings.is_postgres else ", rowid"
    )
    where = "WHERE originator_id=?"
    events = log.run(f"SELECT {columns} FROM {log.events} {where}", (log.key(aggregate_id),))
    chain = log.run(f"SELECT * FROM {log.chain} {where}", (log.key(aggregate_id),))
    try:
        yield
    finally:
        for table, rows, names in ((log.events, events, columns), (log.chain, chain, "")):
            log.run(f"DELETE FROM {table} {where}", (log.key(aggregate_id),))
            for row in rows:
                marks = ",".join("?" * len(row))
                target = f"{table} ({names})" if names else table
                log.run(f"INSERT INTO {target} VALUES ({marks})", tuple(row))
