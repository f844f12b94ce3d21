"""Catch-up rate of each read model and of a full rebuild, beside the raw log read rate.

Builds a log of at least 100,000 events through the Application (group-committed) in a fresh
PostgreSQL database and a fresh SQLite file. On each, in one run: the raw read of the log
(select and decode through the mapper, and select alone) alternating with `rebuild_all`,
REGFLOW_BENCH_ROUNDS (3) times each, medians reported; then each live view catching up alone.
Prints a table and saves bench/results/projections.json. Not a test. Run it as a module,
from the project's root: `.venv/bin/python -m bench.projections` (run as a file, its name
would hide the package).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.kit import CONFIG, ROUNDS, save
from bench.scratch import scratch_postgres
from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import build_views
from projections.database import Database
from projections.live.runner import ViewRunner
from projections.offline.build import process_count
from projections.offline.rebuild import rebuild_all
from projections.schema import Schema

EVENTS = int(os.environ.get("REGFLOW_BENCH_EVENTS", "100000"))
BATCH_SIZE = 50
READ_LIMIT = 1000


@contextmanager
def fresh_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


def run_batch(app: Registrations, index: int) -> None:
    """One batch of jobs driven to the end in lock-step, every round saved in one transaction."""
    restaurants = [{"name": f"R{index}-{i}", "execution_config": CONFIG} for i in range(BATCH_SIZE)]
    batch, jobs, _ = app.create_batch(f"org-{index % 7}", "system", f"bench {index}", restaurants)
    app.start_step6(None, batch.id, None, "system")
    jobs = [app.job(j.id) for j in jobs]
    for job in jobs:
        job.claim("bench")
    app.store(*jobs)
    while any(job.runnable() for job in jobs):
        for job in jobs:
            _round(job)
        app.store(*jobs)
    for job in jobs:
        job.finish()
    app.store(*jobs)


def _round(job: RegistrationJob) -> None:
    for key in job.runnable():
        job.start_sub_step(key)
        job.complete_sub_step(key, {"id": key, "token": "secret"})


def build_log(app: Registrations) -> tuple[int, float]:
    start, index = time.perf_counter(), 0
    while (app.recorder.max_notification_id() or 0) < EVENTS:
        run_batch(app, index)
        index += 1
    return int(app.recorder.max_notification_id() or 0), time.perf_counter() - start


def raw_read(app: Registrations, decode: bool = True) -> float:
    """Seconds to read the whole log; with `decode`, through the mapper (decrypt, decode) too,
    as every reader of it must."""
    start, position = time.perf_counter(), 0
    while notifications := app.recorder.select_notifications(
        start=position, limit=READ_LIMIT, inclusive_of_start=False
    ):
        if decode:
            for notification in notifications:
                app.mapper.to_domain_event(notification)
        position = notifications[-1].id
    return time.perf_counter() - start


def view_catch_up(app: Registrations, db: Database, index: int, head: int) -> float:
    """Seconds for one live view to catch up from nothing, on indexed tables of its own."""
    schema = Schema.scratch()
    schema.create(db)
    view = build_views(app)[index]
    conn = db.connect()
    try:
        start = time.perf_counter()
        ViewRunner(app, db, [view], schema, batch_size=READ_LIMIT).run_to(conn, head)
        return time.perf_counter() - start
    finally:
        conn.close()
        schema.drop(db)


def rebuild(settings: Settings, app: Registrations) -> float:
    start = time.perf_counter()
    rebuild_all(settings, app)
    return time.perf_counter() - start


def median_rate(events: int, runs: list[float]) -> float:
    return events / statistics.median(runs)


def measure(url: str) -> dict[str, Any]:
    """Rates over one log; the raw reads and the rebuilds alternate, ROUNDS of each."""
    settings = Settings(_env_file=None, database_url=url, secret_key="bench")
    app = Registrations(settings)
    db = Database(settings)
    try:
        head, build_seconds = build_log(app)
        reads, selects, rebuilds = [], [], []
        for _ in range(ROUNDS):
            reads.append(raw_read(app))
            selects.append(raw_read(app, decode=False))
            rebuilds.append(rebuild(settings, app))
        rates = {
            "raw_read": median_rate(head, reads),
            "raw_select_undecoded": median_rate(head, selects),
        }
        for index, view in enumerate(build_views(app)):
            rates[f"live_{view.name}"] = head / view_catch_up(app, db, index, head)
        rates["rebuild_all"] = median_rate(head, rebuilds)
        return {
            "events": head,
            "rounds": ROUNDS,
            "build_processes": process_count(head),
            "append_events_per_s": round(head / build_seconds),
            "events_per_s": {k: round(v) for k, v in rates.items()},
            "rebuild_runs_events_per_s": [round(head / s) for s in rebuilds],
            "raw_read_runs_events_per_s": [round(head / s) for s in reads],
            "rebuild_to_raw_ratio": round(rates["rebuild_all"] / rates["raw_read"], 3),
            "rebuild_to_undecoded_select_ratio": round(
                rates["rebuild_all"] / rates["raw_select_undecoded"], 3
            ),
        }
    finally:
        db.close()
        app.close()


def main() -> None:
    results: dict[str, Any] = {}
    with scratch_postgres() as url:
        results["postgres"] = measure(url)
    with fresh_sqlite() as url:
        results["sqlite"] = measure(url)
    print_table(results)
    save("projections.json", results)


def print_table(results: dict[str, Any]) -> None:
    names = list(next(iter(results.values()))["events_per_s"])
    print(f"{'events/s':<34}" + "".join(f"{b:>12}" for b in results))
    for name in names:
        print(f"{name:<34}" + "".join(f"{r['events_per_s'][name]:>12}" for r in results.values()))
    for ratio in ("rebuild_to_raw_ratio", "rebuild_to_undecoded_select_ratio"):
        print(f"{ratio:<34}" + "".join(f"{r[ratio]:>12}" for r in results.values()))
    print(f"{'log size':<34}" + "".join(f"{r['events']:>12}" for r in results.values()))


if __name__ == "__main__":
    main()
