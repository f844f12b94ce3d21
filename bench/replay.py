"""Audit throughput on PostgreSQL: verify-log and replay --verify beside the raw log read rate.

Fills a fresh database with at least REGFLOW_BENCH_EVENTS (100,000) events, then times, in the
same run: reading the notification log raw, walking the hash chain (`regflow verify-log`),
rebuilding the views and diffing a rebuild against them (`regflow replay --verify`). Also
measures what the chain costs on the insert path (chained recorder against the library's own),
one event per save and one job per save. Run from the repository root:
`python -m bench.replay`. Saves bench/results/replay.json. Not a test.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.cli.audit_chain import check_log
from bench.append import run_job, started_jobs
from bench.kit import save
from bench.scratch import scratch_postgres
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.offline.rebuild import rebuild_all, verify

TARGET = int(os.environ.get("REGFLOW_BENCH_EVENTS", "100000"))
INSERT_JOBS = int(os.environ.get("REGFLOW_BENCH_INSERT_JOBS", "60"))
JOBS_PER_SAVE = 100
ROUNDS = 3
PAGE = 1000
PLAIN = {"postgres": "eventsourcing.postgres", "sqlite": "eventsourcing.sqlite"}


def store(url: str, plain: str | None = None) -> Registrations:
    """The use-case layer on `url`; with `plain`, on the library's recorder (no chain)."""
    if plain:
        os.environ["REGISTRATIONS_PERSISTENCE_MODULE"] = plain
    try:
        return Registrations(Settings(_env_file=None, database_url=url, secret_key="bench"))
    finally:
        os.environ.pop("REGISTRATIONS_PERSISTENCE_MODULE", None)


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    outcome = work()
    return outcome, time.perf_counter() - start


def rate(events: int, seconds: float) -> dict[str, float]:
    return {"events": events, "seconds": round(seconds, 3), "events_per_s": round(events / seconds)}


def append_rate(url: str, plain: str | None, per_save: str) -> dict[str, float]:
    """Events/s of whole job runs, saving after every event or once per job."""
    app = store(url, plain)
    try:
        jobs = started_jobs(app, INSERT_JOBS)
        head = app.recorder.max_notification_id() or 0
        start = time.perf_counter()
        for job in jobs:
            run_job(job, (lambda j=job: app.store(j)) if per_save == "event" else lambda: None)
            app.store(job)
        seconds = time.perf_counter() - start
        return rate((app.recorder.max_notification_id() or 0) - head, seconds)
    finally:
        app.close()


def insert_cost(kind: str, url: Callable[[str], Any]) -> dict[str, Any]:
    """The chained recorder against the library's, each on a fresh database, best of ROUNDS."""
    figures: dict[str, Any] = {}
    for per_save in ("event", "job"):
        for name, plain in (("chained", None), ("plain", PLAIN[kind])):
            with url(f"{name}-{per_save}") as target:
                runs = [append_rate(target, plain, per_save) for _ in range(ROUNDS)]
            best = max(runs, key=lambda r: r["events_per_s"])
            figures[f"{name}_one_{per_save}_per_save"] = best
        chained = figures[f"chained_one_{per_save}_per_save"]["events_per_s"]
        plain_rate = figures[f"plain_one_{per_save}_per_save"]["events_per_s"]
        figures[f"chain_overhead_one_{per_save}_per_save"] = round(1 - chained / plain_rate, 3)
    return figures


def fill(app: Registrations) -> int:
    """Run whole jobs in memory and store them a hundred at a time until the target is met."""
    while (app.recorder.max_notification_id() or 0) < TARGET:
        jobs = started_jobs(app, JOBS_PER_SAVE)
        for job in jobs:
            run_job(job, lambda: None)
        app.store(*jobs)
    return int(app.recorder.max_notification_id() or 0)


def raw_read(app: Registrations) -> int:
    count, position = 0, 0
    while page := app.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        count += len(page)
        position = page[-1].id
    return count


def audit_rates(url: str) -> dict[str, Any]:
    """Every audit pass over one large log, timed in the same run."""
    app = store(url)
    try:
        events, fill_s = timed(lambda: fill(app))
        read, read_s = timed(lambda: raw_read(app))
        report, chain_s = timed(lambda: check_log(app, show_progress=False))
        _, rebuild_s = timed(lambda: rebuild_all(app.settings, app))
        drift, verify_s = timed(lambda: verify(app.settings, app))
        assert report.ok and report.events == events and not drift, "the log or views disagree"
        return {
            "events": events,
            "fill": rate(events, fill_s),
            "raw_notification_read": rate(read, read_s),
            "verify_log": rate(report.events, chain_s),
            "rebuild_projections": rate(events, rebuild_s),
            "replay_verify": rate(events, verify_s),
        }
    finally:
        app.close()


def sqlite_urls(tmp: str) -> Callable[[str], Any]:
    class Url:
        def __init__(self, name: str) -> None:
            self.url = f"sqlite:///{Path(tmp) / name}.db"

        def __enter__(self) -> str:
            return self.url

        def __exit__(self, *_: object) -> None:
            return None

    return Url


def main() -> None:
    results: dict[str, Any] = {}
    with scratch_postgres() as url:
        results["postgres"] = audit_rates(url)
    results["insert_cost"] = {"postgres": insert_cost("postgres", lambda _: scratch_postgres())}
    with tempfile.TemporaryDirectory() as tmp:
        results["insert_cost"]["sqlite"] = insert_cost("sqlite", sqlite_urls(tmp))
    pg = results["postgres"]
    raw = pg["raw_notification_read"]["events_per_s"]
    for name in ("raw_notification_read", "verify_log", "rebuild_projections", "replay_verify"):
        figure = pg[name]["events_per_s"]
        pg[name]["ratio_to_raw_read"] = round(figure / raw, 3)
        print(f"{name:24} {figure:9.0f} events/s  ({figure / raw:.2f}x raw read)")
    for kind, figures in results["insert_cost"].items():
        for name, value in figures.items():
            shown = (
                f"{value['events_per_s']:9.0f} events/s"
                if isinstance(value, dict)
                else f"{value:+.1%}"
            )
            print(f"insert {kind:8} {name:32} {shown}")
    save("replay.json", results)


if __name__ == "__main__":
    main()
