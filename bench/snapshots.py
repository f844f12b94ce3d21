"""Replay of one job with 1,000 events: from its events alone, and from a snapshot.

On a fresh PostgreSQL database and a fresh SQLite file, records a job with about 1,000
events (operators editing a sub-step back and forth), then times loading it: folding every
event through the library's own readers (its recorder query, AES cipher and JSON decoder:
the baseline) and through the store's (every event, and a load through the repository),
from a snapshot at its last version, and from a snapshot SNAPSHOT_EVERY - 1 events behind
(the worst case between two snapshots). Baseline and store are timed in alternate rounds of
the same run; medians and minima of ROUNDS loads, each against the 10 ms goal, and the
median CPU time of the reading thread. Run from the repository root:
`python -m bench.snapshots`. Saves bench/results/snapshots-<time>.json. Not a test.
"""

from __future__ import annotations

import base64
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eventsourcing import postgres as es_pg
from eventsourcing import sqlite as es_sqlite
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import Environment

from bench.kit import CONFIG, save
from bench.scratch import scratch_postgres
from domain.job import RegistrationJob
from infrastructure.keys.sealing import SealingMapper
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.snapshots import SNAPSHOT_EVERY, fold_events

EVENTS = 1000
ROUNDS = 40
GOAL_MS = 10.0


def long_job(app: Registrations) -> RegistrationJob:
    """A job of at least EVENTS events, stored 50 events at a time."""
    _, [job], _ = app.create_batch(
        "bench", "system", "bench", [{"name": "R", "execution_config": CONFIG}]
    )
    i = 0
    while job.version < EVENTS:
        job.edit([("cloudwaitressAccount", ("failed", "skipped")[i % 2], None)], "u", "bench")
        i += 1
        if job.version % 50 < 3:
            app.store(job)
    app.store(job)
    return job


class LibraryReading(SealingMapper):
    """The sealing mapper on the library's own mapper, AES cipher and JSON transcoder."""

    def _library_event(self, stored_event: StoredEvent) -> Any:
        return Mapper.to_domain_event(self, stored_event)


def library_reader(app: Registrations) -> Callable[[Any], Any]:
    """A fold of a job's events through the library's query, cipher and decoder."""
    transcoder = JSONTranscoder()
    app.register_transcodings(transcoder)
    key = base64.b64encode(app.mapper.cipher.key).decode()  # type: ignore[union-attr]
    mapper = LibraryReading(transcoder, cipher=AESCipher(Environment(env={"CIPHER_KEY": key})))
    mapper.keyring = app.keyring
    recorder = app.recorder
    select: Callable[..., Any] = (
        es_pg.PostgresAggregateRecorder.select_events
        if isinstance(recorder, es_pg.PostgresAggregateRecorder)
        else es_sqlite.SQLiteAggregateRecorder.select_events
    )

    def fold(job_id: Any) -> Any:
        folded: Any = None
        for stored in select(recorder, job_id):
            folded = mapper.to_domain_event(stored).mutate(folded)
        return folded

    return fold


def fold(app: Registrations, job_id: Any) -> Any:
    folded: Any = None
    for event in app.events.get(job_id):
        folded = event.mutate(folded)
    return folded


def figures_of(times: list[float], cpu: list[float]) -> dict[str, float]:
    median = statistics.median(times) * 1000
    return {
        "median_ms": round(median, 3),
        "min_ms": round(min(times) * 1000, 3),
        "median_to_goal": round(median / GOAL_MS, 3),
        "cpu_median_ms": round(statistics.median(cpu) * 1000, 3),
    }


def alternating(loads: dict[str, Callable[[], Any]]) -> dict[str, dict[str, float]]:
    """Each load timed ROUNDS times, in turn within every round: elapsed time, and this
    thread's CPU time (the reader's own work, without the database's and less moved by other
    processes on a shared machine)."""
    times: dict[str, list[float]] = {name: [] for name in loads}
    cpu: dict[str, list[float]] = {name: [] for name in loads}
    for _ in range(ROUNDS):
        for name, load in loads.items():
            started, started_cpu = time.perf_counter(), time.thread_time()
            load()
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.thread_time() - started_cpu)
    return {name: figures_of(times[name], cpu[name]) for name in loads}


def state(job: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(job).items() if k != "_pending_events"}


def measure(url: str) -> dict[str, Any]:
    app = Registrations(Settings(_env_file=None, database_url=url, secret_key="bench"))
    try:
        app.snapshot_every = 10**9
        job = long_job(app)
        library = library_reader(app)
        assert state(library(job.id)) == state(fold(app, job.id))
        figures: dict[str, Any] = {"events": job.version}
        figures |= alternating(
            {
                "replay_all_events_library_readers": lambda: library(job.id),
                "replay_all_events": lambda: fold(app, job.id),
                "load_all_events": lambda: app.repository.get(job.id, projector_func=fold_events),
            }
        )
        base = figures["replay_all_events_library_readers"]["median_ms"]
        figures["replay_all_events"]["ratio_to_library_readers"] = round(
            figures["replay_all_events"]["median_ms"] / base, 3
        )
        app.take_snapshot(job.id, version=job.version - (SNAPSHOT_EVERY - 1))
        figures |= alternating({"load_from_snapshot_99_behind": lambda: app.repository.get(job.id)})
        app.take_snapshot(job.id, version=job.version)
        figures |= alternating({"load_from_snapshot_at_head": lambda: app.repository.get(job.id)})
        assert state(app.repository.get(job.id)) == state(fold(app, job.id))
        return figures
    finally:
        app.close()


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'snapshots.db'}"


def main() -> None:
    results: dict[str, Any] = {"bench": "snapshots", "rounds": ROUNDS, "goal_ms": GOAL_MS}
    for kind, url in (
        ("sqlite", sqlite_url),
        ("postgres", lambda: scratch_postgres("regflow_bench_snap")),
    ):
        with url() as target:
            results[kind] = measure(target)
        for name, figure in results[kind].items():
            if isinstance(figure, dict):
                extra = figure.get("ratio_to_library_readers")
                shown = f"  {extra:.2f}x the library's readers" if extra else ""
                print(
                    f"{kind:8} {name:36} median {figure['median_ms']:7.2f} ms "
                    f"(min {figure['min_ms']:6.2f}, cpu {figure['cpu_median_ms']:6.2f}) "
                    f"= {figure['median_to_goal']:.2f}x goal{shown}"
                )
    save(f"snapshots-{time.strftime('%Y%m%dT%H%M%S')}.json", results)


if __name__ == "__main__":
    main()
