"""Append throughput through the Application on SQLite and PostgreSQL, beside raw psycopg.

Prints a table and saves bench/results/append.json. Not a test.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.scratch import scratch_postgres
from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

JOBS = int(os.environ.get("REGFLOW_BENCH_JOBS", "150"))
CONFIG = {
    "account": {"email": "a@b.example", "password": "pw"},
    "menu": {"menu_id": "m"},
    "payment": {"enabled": True},
    "onboarding_user": {"enabled": True},
}


def started_jobs(app: Registrations, n: int) -> list[RegistrationJob]:
    _, jobs, _ = app.create_batch(
        "bench",
        "system",
        "bench",
        [{"name": f"R{i}", "execution_config": CONFIG} for i in range(n)],
    )
    for job in jobs:
        job.start_step6("system")
        job.claim("bench")
    app.store(*jobs)
    return jobs


def run_job(job: RegistrationJob, save: Callable[[], None]) -> None:
    """Drive one job to the end, calling `save` after every command."""
    while job.runnable():
        for key in job.runnable():
            job.start_sub_step(key)
            save()
            job.complete_sub_step(key, {"id": key})
            save()
    job.finish()
    save()


def measure(url: str, per_save: str) -> dict[str, Any]:
    app = Registrations(Settings(_env_file=None, database_url=url, secret_key="bench"))
    jobs = started_jobs(app, JOBS)
    head = app.recorder.max_notification_id() or 0
    start = time.perf_counter()
    for job in jobs:
        if per_save == "event":
            run_job(job, lambda j=job: app.store(j))
        else:
            run_job(job, lambda: None)
            app.store(job)
    elapsed = time.perf_counter() - start
    events = (app.recorder.max_notification_id() or 0) - head
    app.close()
    return {"events": events, "seconds": elapsed, "events_per_s": events / elapsed}


def raw_insert(url: str, rows: int) -> dict[str, Any]:
    state = os.urandom(420)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE raw_events (id bigserial primary key, originator_id uuid,"
            " originator_version int, topic text, state bytea,"
            " UNIQUE (originator_id, originator_version))"
        )
        start = time.perf_counter()
        for i in range(rows):
            conn.execute(
                "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                "VALUES (%s, %s, %s, %s)",
                (uuid.uuid4(), i, "regflow:RegistrationJob.SubStepCompleted", state),
            )
        elapsed = time.perf_counter() - start
    return {"events": rows, "seconds": elapsed, "events_per_s": rows / elapsed}


def main() -> None:
    results: dict[str, Any] = {"jobs": JOBS}
    with tempfile.TemporaryDirectory() as tmp:
        for per_save in ("event", "job"):
            url = f"sqlite:///{Path(tmp) / f'{per_save}.db'}"
            results[f"sqlite_one_{per_save}_per_save"] = measure(url, per_save)
    with scratch_postgres() as url:
        for per_save in ("event", "job"):
            results[f"postgres_one_{per_save}_per_save"] = measure(url, per_save)
        rows = results["postgres_one_event_per_save"]["events"]
        results["postgres_raw_psycopg_insert"] = raw_insert(url, rows)
    raw = results["postgres_raw_psycopg_insert"]["events_per_s"]
    for name, figures in results.items():
        if isinstance(figures, dict):
            figures["ratio_to_raw_postgres"] = figures["events_per_s"] / raw
            print(
                f"{name:36} {figures['events_per_s']:9.0f} events/s  "
                f"({figures['ratio_to_raw_postgres']:.2f}x raw psycopg)"
            )
    out = Path(__file__).parent / "results" / "append.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
