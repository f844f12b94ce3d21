"""What a batch read as of the log costs while the views stand 0, a few and many events behind.

On a fresh PostgreSQL database and a fresh SQLite file: an organisation with five batches of
100 jobs, which the views hold; then one of its jobs is edited and another organisation's
batches are created and started (events the read does not show), the views held where they
stand. Each step measures, as the median of READS reads (wall time), a batch read (its summary
and sub-step counts, as GET ?brief=1 asks) and the organisation's list. Run from the
repository root: `.venv/bin/python -m bench.as_of_log [--base ../base]` measures this tree
and, given a base checkout, the base's, each in a process of its own, and saves
bench/results/as-of-log-<time>.json. Not a test.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

READS = 20
BEHIND = tuple(int(n) for n in os.environ.get("REGFLOW_BENCH_BEHIND", "200,20000").split(","))
CONFIG = {"menu": {"menu_id": "m"}, "payment": {"enabled": True}}


def median_ms(read: Callable[[], object]) -> float:
    read()  # connections made, statements prepared
    times = []
    for _ in range(READS):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1e3)
    return round(statistics.median(times), 3)


def restaurants(count: int, prefix: str) -> list[dict[str, Any]]:
    return [{"name": f"{prefix}{i}", "execution_config": CONFIG} for i in range(count)]


def other_events(app: Any, count: int) -> None:
    """About `count` events of another organisation's batches: each created, then started."""
    made = 0
    while made < count:
        jobs = max(1, min(1000, (count - made) // 2 - 1))
        batch, _, _ = app.create_batch("org-other", "system", "other", restaurants(jobs, "O"))
        app.start_step6(None, batch.id, None, "system")
        made += 2 * (jobs + 1)


def measure_store(url: str) -> dict[str, float]:
    from pydantic import SecretStr

    from infrastructure.settings import Settings
    from infrastructure.usecases.registrations import Registrations
    from projections.live.service import ReadModelService

    secret = SecretStr("bench")
    settings = Settings(_env_file=None, database_url=url, secret_key=secret)  # type: ignore[call-arg]
    with closing(Registrations(settings)) as app, ReadModelService(settings, app) as views:
        batches = [
            app.create_batch("org-read", "system", f"B{i}", restaurants(100, "R")) for i in range(5)
        ]
        batch_id, job_id = str(batches[0][0].id), batches[0][1][0].id
        views.catch_up()

        def batch_read() -> object:
            with views.as_of_log(batch_id=batch_id) as reads:
                return reads.batch_summary(batch_id), reads.batch_sub_steps(batch_id)

        def list_read() -> object:
            with views.as_of_log(organisation_id="org-read") as reads:
                return reads.list_batches("org-read")

        figures = {"batch_0": median_ms(batch_read), "list_0": median_ms(list_read)}
        app.cancel(None, job_id, "system", "bench")  # a job the reads show, behind
        behind = 1
        for count in BEHIND:
            other_events(app, count - behind)
            behind = max(views.lag().values())
            figures[f"batch_{count}"] = median_ms(batch_read)
            figures[f"list_{count}"] = median_ms(list_read)
        return figures


def measure() -> dict[str, float]:
    from bench.scratch import scratch_postgres

    figures: dict[str, float] = {}
    with scratch_postgres("regflow_bench_as_of_log") as url:
        figures |= {f"pg_{k}": v for k, v in measure_store(url).items()}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        figures |= {f"sqlite_{k}": v for k, v in measure_store(url).items()}
    return figures


def main() -> None:
    if "--here" in sys.argv:  # in the tree measured, which may hold an older bench/kit.py
        print(json.dumps(measure()))
        return
    from bench.kit import compare_trees

    compare_trees(__file__, __doc__, "as-of-log", "{:.2f} ms", reads=READS, behind=BEHIND)


if __name__ == "__main__":
    main()
