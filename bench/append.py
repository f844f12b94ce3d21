"""Append throughput through the Application on SQLite and PostgreSQL, beside raw psycopg,
with field-level sealing of secret and personal fields and without it, in the same run.

Every sub-step result carries a token (sealed with the organisation's key when sealing is on).
Sealed and plain runs alternate; the figures are medians of REGFLOW_BENCH_ROUNDS rounds.
Prints a table and saves bench/results/append.json. Not a test.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from bench.kit import CONFIG, ROUNDS, save
from bench.scratch import scratch_postgres
from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

JOBS = int(os.environ.get("REGFLOW_BENCH_JOBS", "150"))


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
            job.complete_sub_step(key, {"id": key, "accessToken": f"t-{job.id}-{key}"})
            save()
    job.finish()
    save()


def measure(url: str, per_save: str, sealed: bool = True) -> dict[str, Any]:
    app = Registrations(Settings(_env_file=None, database_url=url, secret_key="bench"))
    if not sealed:
        app.sealing.keyring = None  # the same store and mapper, fields left unsealed
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


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["events_per_s"] for r in runs]
    return runs[0] | {"events_per_s": statistics.median(rates), "rounds": rates}


def sealed_beside_plain(url_of: Callable[[str], str], per_save: str) -> dict[str, Any]:
    """Sealed and plain runs alternating, each on a store of its own; medians and their ratio."""
    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for round_ in range(ROUNDS):
        for sealed in (True, False) if round_ % 2 == 0 else (False, True):
            runs[sealed].append(measure(url_of(f"{per_save}-{sealed}-{round_}"), per_save, sealed))
    sealed, plain = median_of(runs[True]), median_of(runs[False])
    return {
        "sealed": sealed,
        "plain": plain,
        "sealed_to_plain": sealed["events_per_s"] / plain["events_per_s"],
    }


def main() -> None:
    results: dict[str, Any] = {"jobs": JOBS, "rounds": ROUNDS}
    with tempfile.TemporaryDirectory() as tmp:
        for per_save in ("event", "job"):
            results[f"sqlite_one_{per_save}_per_save"] = sealed_beside_plain(
                lambda name: f"sqlite:///{Path(tmp) / name}.db", per_save
            )
    for per_save in ("event", "job"):
        with scratch_postgres() as url:
            results[f"postgres_one_{per_save}_per_save"] = sealed_beside_plain(
                lambda name, url=url: url, per_save
            )
    with scratch_postgres() as url:
        rows = results["postgres_one_event_per_save"]["sealed"]["events"]
        raw = raw_insert(url, rows)
    results["postgres_raw_psycopg_insert"] = raw
    for name, figures in results.items():
        if isinstance(figures, dict) and "sealed" in figures:
            for kind in ("sealed", "plain"):
                figures[kind]["ratio_to_raw_postgres"] = (
                    figures[kind]["events_per_s"] / raw["events_per_s"]
                )
            print(
                f"{name:30} sealed {figures['sealed']['events_per_s']:7.0f} events/s, "
                f"plain {figures['plain']['events_per_s']:7.0f} events/s: "
                f"sealed/plain {figures['sealed_to_plain']:.2f}"
            )
    print(f"{'postgres_raw_psycopg_insert':30} {raw['events_per_s']:7.0f} events/s")
    save("append.json", results)


if __name__ == "__main__":
    main()
