"""Starting Step 6 for a batch of 10,000 jobs: jobs loaded one by one, then read together.

On a fresh SQLite file and a fresh PostgreSQL database, creates batches of JOBS restaurants
and times, in the same run:
- loading every job of a batch: one by one (two queries a job, as before) and together;
- `start_step6` of a whole batch with each loader (a fresh batch each, every job started);
- a repeated start of a started batch (it records nothing: loading is all it does).

Run from the repository root: `python -m bench.start_step6 [--jobs N]`.
Saves bench/results/start_step6-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench.kit import CONFIG, save
from bench.scratch import scratch_postgres
from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

JOBS = 10_000
ORG = "org-bench"


def one_by_one(app: Registrations) -> Callable[[list[str]], list[RegistrationJob]]:
    """The loader `start_step6` used before: the library's repository, a job at a time."""
    return lambda job_ids: [app.job(j) for j in job_ids]


def new_batch(app: Registrations, n: int) -> tuple[str, list[str]]:
    restaurants = [{"name": f"R{i}", "execution_config": CONFIG} for i in range(n)]
    batch, jobs, _ = app.create_batch(ORG, "user:bench", "bench", restaurants)
    return str(batch.id), [str(j.id) for j in jobs]


def seconds(action: Callable[[], Any]) -> tuple[float, Any]:
    """How long `action` took, and what it gave (garbage of earlier rounds collected first)."""
    gc.collect()
    started = time.perf_counter()
    result = action()
    return round(time.perf_counter() - started, 3), result


def stores() -> Iterator[tuple[str, str]]:
    """A fresh SQLite file, then a fresh PostgreSQL database, each removed after its turn."""
    with tempfile.TemporaryDirectory() as folder:
        yield "sqlite", f"sqlite:///{folder}/bench.db"
    with scratch_postgres("regflow_bench_start") as url:
        yield "postgresql", url


def measure(url: str, n: int) -> dict[str, Any]:
    app = Registrations(Settings(_env_file=None, database_url=url, secret_key="bench"))
    try:
        figures: dict[str, Any] = {}
        batch_a, ids_a = new_batch(app, n)
        batch_b, _ = new_batch(app, n)
        figures["load_one_by_one_s"], alone = seconds(lambda: one_by_one(app)(ids_a))
        figures["load_together_s"], together = seconds(lambda: app.jobs(ids_a))
        assert [j.version for j in alone] == [j.version for j in together]
        assert [j.status for j in alone] == [j.status for j in together]
        del alone, together

        bulk = app.jobs
        app.jobs = one_by_one(app)  # type: ignore[method-assign]
        figures["start_one_by_one_s"], before = seconds(
            lambda: app.start_step6(ORG, batch_a, None, "user:bench")
        )
        figures["restart_one_by_one_s"], _ = seconds(
            lambda: app.start_step6(ORG, batch_a, None, "user:bench")
        )
        app.jobs = bulk  # type: ignore[method-assign]
        figures["start_together_s"], after = seconds(
            lambda: app.start_step6(ORG, batch_b, None, "user:bench")
        )
        figures["restart_together_s"], again = seconds(
            lambda: app.start_step6(ORG, batch_b, None, "user:bench")
        )
        assert len(before.started) == len(after.started) == n
        assert len(again.already_started) == n and not again.started
        for name in ("load", "start", "restart"):
            ratio = figures[f"{name}_one_by_one_s"] / max(figures[f"{name}_together_s"], 1e-9)
            figures[f"{name}_ratio"] = round(ratio, 1)
        return figures
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=JOBS)
    n = parser.parse_args().jobs
    report: dict[str, Any] = {"bench": "start_step6", "jobs": n}
    for store, url in stores():
        report[store] = measure(url, n)
        print(store, json.dumps(report[store]), flush=True)
    save(f"start_step6-{time.strftime('%Y%m%dT%H%M%S')}.json", report)


if __name__ == "__main__":
    main()
