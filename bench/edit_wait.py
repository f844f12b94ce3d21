"""How long one edit takes in process, split into its write and its read-your-writes wait.

One process on a fresh PostgreSQL database, the views' runner on its own thread as in `serve`:
a batch of one job, WARM edits to warm every cache, then EDITS edits of one sub-step back and
forth, each waited for in the views as the API waits before it answers. Prints the median and
90th percentile of the edit (load, command, save) and of the wait (the runner's run of the
edit's events), in milliseconds. No HTTP and no client: what is left is the store and the
views, so a change to either shows here where the API bench's noise would hide it.

Run from the repository root: `python -m bench.edit_wait [--base CHECKOUT]` (a minute a tree).
Saves bench/results/edit-wait-<time>.json. Not a test.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

EDITS = 2000
WARM = 200


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def one_job(app: Any) -> str:
    """A new batch of one job; the job's id."""
    restaurants = [{"name": "R0", "execution_config": {}}]
    _, jobs, _ = app.create_batch("bench", "key:bench", "bench", restaurants)
    return str(jobs[0].id)


def flip(app: Any, job: str, i: int) -> Any:
    """The `i`th edit of the job: its account sub-step to failed, then skipped, and so on."""
    status = ("failed", "skipped")[i % 2]
    return app.edit("bench", job, [("cloudwaitressAccount", status, None)], "key:bench", "x")


def measured(url: str) -> dict[str, float]:
    """The edits' and waits' figures, in ms."""
    from pydantic import SecretStr

    from infrastructure.settings import Settings
    from infrastructure.usecases.registrations import Registrations
    from projections.live.service import ReadModelService

    settings = Settings(_env_file=None, database_url=url, secret_key=SecretStr("bench"))  # type: ignore[call-arg]
    app = Registrations(settings)
    views = ReadModelService(settings, app)
    views.start()
    edits: list[float] = []
    waits: list[float] = []
    try:
        job = one_job(app)
        for i in range(WARM + EDITS):
            began = time.perf_counter()
            outcome = flip(app, job, i)
            saved = time.perf_counter()
            assert views.wait_for(outcome.position)
            seen = time.perf_counter()
            if i >= WARM:
                edits.append((saved - began) * 1000)
                waits.append((seen - saved) * 1000)
    finally:
        views.stop()
        app.close()
    return {
        "edit_p50": statistics.median(edits),
        "edit_p90": percentile(edits, 0.9),
        "wait_p50": statistics.median(waits),
        "wait_p90": percentile(waits, 0.9),
    }


def here() -> dict[str, Any]:
    from bench.scratch import scratch_postgres

    with scratch_postgres("regflow_bench_edit_wait") as url:
        return measured(url)


def main() -> None:
    if "--here" in sys.argv:
        print(json.dumps(here()))
        return
    from bench.kit import compare_trees

    compare_trees(__file__, __doc__, "edit-wait", "{:.3f} ms", edits=EDITS)


if __name__ == "__main__":
    main()
