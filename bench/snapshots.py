"""Replay of one job with 1,000 events: from its events alone, and from a snapshot.

On a fresh PostgreSQL database, records a job with about 1,000 events (operators editing a
sub-step back and forth), then times loading it: folding every event (no snapshot), from a
snapshot at its last version, and from a snapshot SNAPSHOT_EVERY - 1 events behind (the
worst case between two snapshots). Medians of ROUNDS loads. Run from the repository root:
`python -m bench.snapshots`. Saves bench/results/snapshots-<time>.json. Not a test.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.kit import CONFIG
from bench.scratch import scratch_postgres
from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.snapshots import SNAPSHOT_EVERY

EVENTS = 1000
ROUNDS = 30
RESULTS = Path(__file__).parent / "results"


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


def median_ms(load: Callable[[], Any]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        load()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def fold(app: Registrations, job_id: Any) -> Any:
    folded: Any = None
    for event in app.events.get(job_id):
        folded = event.mutate(folded)
    return folded


def main() -> None:
    with scratch_postgres("regflow_bench_snap") as url:
        app = Registrations(Settings(_env_file=None, database_url=url, secret_key="bench"))
        app.snapshot_every = 10**9
        job = long_job(app)
        figures: dict[str, Any] = {"events": job.version}
        figures["replay_all_events_ms"] = median_ms(lambda: fold(app, job.id))
        app.take_snapshot(job.id, version=job.version - (SNAPSHOT_EVERY - 1))
        figures["from_snapshot_99_behind_ms"] = median_ms(lambda: app.repository.get(job.id))
        app.take_snapshot(job.id, version=job.version)
        figures["from_snapshot_at_head_ms"] = median_ms(lambda: app.repository.get(job.id))
        assert vars(app.repository.get(job.id)) == vars(fold(app, job.id))
        app.close()
    print(json.dumps(figures))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"snapshots-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"bench": "snapshots", "rounds": ROUNDS, **figures}, indent=2))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
