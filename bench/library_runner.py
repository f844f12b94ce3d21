"""The library's ProjectionRunner beside regflow's view runner, on the same log and view.

Why regflow's views follow the log with a runner of their own: this builds a log of at least
REGFLOW_BENCH_EVENTS (100,000) events on a fresh PostgreSQL database, then times the timeline
view catching up from nothing twice: as an `eventsourcing.projection.Projection` on a
`PostgresTrackingRecorder` run by the library's `ProjectionRunner` (a transaction per event,
tracking in the same transaction, as the library does it), and as regflow's `ViewRunner`
(runs of events, tracking compare-and-set in the same transaction). Same rows, same tracking
guarantee, both committing without waiting for the disk. Prints both rates and saves
bench/results/library_runner.json. Not a test. Run it from the project's root:
`.venv/bin/python -m bench.library_runner`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Identifier

from bench.projections import build_log
from bench.scratch import scratch_postgres
from infrastructure.keys.ring import Keyring
from infrastructure.keys.table import KeyTable
from infrastructure.persistence import APPLICATION_NAME, library_env, passphrase
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.folds.timeline import timeline_entry
from projections.live.runner import ViewRunner
from projections.schema import Schema
from projections.views import TIMELINE_COLUMNS, TimelineView, is_job_event, timeline_values

RESULTS = Path(__file__).parent / "results" / "library_runner.json"
TABLE = "bench_library_timeline"


class LogReader(Application[Any]):
    """The store's log, read through the same mapper (cipher, topics) as the service's."""

    name = APPLICATION_NAME


class TimelineRecorder(PostgresTrackingRecorder):
    """The timeline's table, written with the tracking row in one transaction."""

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        columns = SQL(", ").join(SQL(f"{c} TEXT") for c in TIMELINE_COLUMNS)
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {0} ({1})").format(Identifier(TABLE), columns)
        )
        marks = SQL(", ").join(SQL("%s") for _ in TIMELINE_COLUMNS)
        self.insert_row = SQL("INSERT INTO {0} VALUES ({1})").format(Identifier(TABLE), marks)

    def insert_entry(self, row: Any, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.insert_row, [str(v) if v is not None else None for v in row])
            self._insert_tracking(curs, tracking)


class TimelineProjection(Projection[TimelineRecorder]):
    """One timeline row per job event; other events only advance tracking."""

    name = "bench_library"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:  # type: ignore[override]
        if is_job_event(domain_event):
            self.view.insert_entry(timeline_values(timeline_entry(domain_event)), tracking)
        else:
            self.view.insert_tracking(tracking)


def library_rate(settings: Settings, head: int) -> float:
    # regflow's view connections commit without waiting for the disk; so do these, to compare
    # runners and not disks
    with psycopg.connect(**settings.postgres_parts(), autocommit=True) as conn:
        conn.execute(
            SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                Identifier(settings.postgres_parts()["dbname"])
            )
        )
    table = KeyTable(settings)
    try:
        store_key = Keyring(table, passphrase(settings)[0]).open_store_key()
    finally:
        table.close()
    env = library_env(settings, store_key) | {"PERSISTENCE_MODULE": "eventsourcing.postgres"}
    start = time.perf_counter()
    with ProjectionRunner(
        application_class=LogReader,
        projection_class=TimelineProjection,
        view_class=TimelineRecorder,
        env=env,
    ) as runner:
        runner.wait(head, timeout=3600)
    return head / (time.perf_counter() - start)


def regflow_rate(settings: Settings, app: Registrations, head: int) -> float:
    db, schema = Database(settings), Schema.scratch()
    schema.create(db)
    conn = db.connect()
    try:
        start = time.perf_counter()
        ViewRunner(app, db, [TimelineView()], schema).run_to(conn, head)
        return head / (time.perf_counter() - start)
    finally:
        conn.close()
        schema.drop(db)
        db.close()


def main() -> None:
    with scratch_postgres() as url:
        settings = Settings(_env_file=None, database_url=url, secret_key="bench")
        app = Registrations(settings)
        try:
            head, _ = build_log(app)
            library = library_rate(settings, head)
            ours = regflow_rate(settings, app, head)
        finally:
            app.close()
    results = {
        "events": head,
        "library_projection_runner_events_per_s": round(library),
        "regflow_view_runner_events_per_s": round(ours),
        "ratio": round(ours / library, 2),
    }
    print(json.dumps(results, indent=2))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
