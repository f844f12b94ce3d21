"""Instructions an edit costs regflow's process, counted by callgrind: a figure noise cannot blur.

This machine's neighbours move latency and even CPU time by a third between runs of the same
code, which hides a change of a few percent. Valgrind's callgrind counts the instructions the
process executes instead: the same code and inputs give the same count whatever else runs.

One run, in process, on a fresh PostgreSQL database (or SQLite with --store sqlite): a batch
of one job, then EDITS edits of one sub-step back and forth, each waited for in the views as the
API's read-your-writes wait does (the views' runner on its own thread, as in `serve`). The
script runs itself under callgrind twice, with EDITS edits and with none, and prints the
difference per edit: what one edit costs, start-up and set-up subtracted. Run from the
repository root: `python -m bench.edit_cost` (about four minutes). Saves
bench/results/edit-cost-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.callgrind import instructions

RESULTS = Path(__file__).parent / "results"
EDITS = 100
WARM = 20


def run_edits(url: str, edits: int) -> None:
    """A job, WARM edits to warm every cache, then `edits` more, each waited for in the views
    as the API waits (read-your-writes) while their runner runs on its thread."""
    from pydantic import SecretStr

    from bench.edit_wait import flip, one_job
    from infrastructure.settings import Settings
    from infrastructure.usecases.registrations import Registrations
    from projections.live.service import ReadModelService

    settings = Settings(_env_file=None, database_url=url, secret_key=SecretStr("bench"))  # type: ignore[call-arg]
    app = Registrations(settings)
    views = ReadModelService(settings, app)
    views.start()
    try:
        job = one_job(app)
        for i in range(WARM + edits):
            outcome = flip(app, job, i)
            assert views.wait_for(outcome.position)
            row = views.job_progress(job)
            assert row is not None and row["version"] == outcome.version
    finally:
        views.stop()
        app.close()


def counted(url: str, edits: int) -> int:
    """Instructions of one run of `edits` edits under callgrind."""
    return instructions("bench.edit_cost", "--child", url, str(edits))


def database(store: str, tmp: str) -> Any:
    if store == "sqlite":
        from contextlib import nullcontext

        return nullcontext(f"sqlite:///{tmp}/edit-cost.db")
    from bench.scratch import scratch_postgres

    return scratch_postgres("regflow_bench_edit_cost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("URL", "EDITS"), help=argparse.SUPPRESS)
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--edits", type=int, default=EDITS)
    parser.add_argument("--label", default="", help="a word for the results file name")
    args = parser.parse_args()
    if args.child:
        run_edits(args.child[0], int(args.child[1]))
        return
    figures: dict[str, Any] = {"bench": "edit_cost", "store": args.store, "edits": args.edits}
    for with_edits in (0, args.edits):
        with tempfile.TemporaryDirectory() as tmp, database(args.store, tmp) as url:
            figures[f"instructions_{with_edits}"] = counted(url, with_edits)
    per_edit = (figures[f"instructions_{args.edits}"] - figures["instructions_0"]) / args.edits
    figures["instructions_per_edit"] = round(per_edit)
    print(json.dumps(figures))
    RESULTS.mkdir(exist_ok=True)
    label = f"-{args.label}" if args.label else ""
    path = RESULTS / f"edit-cost{label}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
