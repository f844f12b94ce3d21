"""`regflow batch run FILE`: create a batch and run Step 6 to the end with a live display."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from domain.exceptions import InvalidInput
from infrastructure.engine.wiring import running_engine
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

ACTOR = "user:cli"
REFRESH_SECONDS = 0.5


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `batch run`."""
    batch = commands.add_parser("batch", help="run batches of restaurants")
    actions = batch.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="create a batch from a JSON file and run Step 6")
    run.add_argument("file", help="JSON: a list of restaurants or {name, restaurants}")
    run.add_argument("--name", help="the batch name (default: the file's name)")
    run.add_argument("--org", default="org-cli", help="the organisation the batch belongs to")
    run.add_argument(
        "--timeout", type=float, default=3600.0, help="give up after this many seconds"
    )
    run.set_defaults(handler=batch_run)


def read_batch(path: str, name: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The batch name and restaurants a JSON file holds."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Cannot read {path}: {exc}") from None
    restaurants = data.get("restaurants") if isinstance(data, dict) else data
    if not isinstance(restaurants, list):
        raise InvalidInput(f"{path} must hold a list of restaurants or {{name, restaurants}}")
    default = data.get("name") if isinstance(data, dict) else None
    return name or default or Path(path).stem, restaurants


def batch_run(args: argparse.Namespace) -> int:
    """Create the batch, run Step 6 to the end with a live display, print the final table."""
    settings = Settings()
    settings.require_registration_api()
    name, restaurants = read_batch(args.file, args.name)
    app = Registrations(settings)
    try:
        batch, jobs, _ = app.create_batch(args.org, ACTOR, name, restaurants)
        app.start_step6(args.org, batch.id, None, ACTOR)
        job_ids = [str(j.id) for j in jobs]
        console = Console()
        console.print(f"batch [bold]{name}[/bold] {batch.id}: {len(job_ids)} jobs")
        done = asyncio.run(_run_with_display(app, settings, job_ids, args.timeout, console))
        console.print(job_table(app, job_ids))
        failed = [j for j in job_ids if app.job(j).status != "completed"]
        return 0 if done and not failed else 1
    finally:
        app.close()


async def _run_with_display(
    app: Registrations, settings: Settings, job_ids: list[str], timeout: float, console: Console
) -> bool:
    async with running_engine(app, settings) as engine:
        engine.wake(job_ids)
        idle = asyncio.ensure_future(engine.run_until_idle(timeout))
        with Live(console=console, refresh_per_second=4, transient=True) as live:
            while not idle.done():
                live.update(await asyncio.to_thread(progress_table, app, job_ids, engine.status()))
                await asyncio.wait([idle], timeout=REFRESH_SECONDS)
        return idle.result()


def progress_table(app: Registrations, job_ids: list[str], status: dict[str, Any]) -> Table:
    """Counts of jobs by status, sub-steps done, and the engine's state."""
    jobs = [app.job(j) for j in job_ids]
    counts: dict[str, int] = {}
    for job in jobs:
        counts[str(job.status)] = counts.get(str(job.status), 0) + 1
    steps = sum(
        1 for j in jobs for s in j.sub_steps.values() if s.status in ("completed", "skipped")
    )
    table = Table(title="Step 6 progress")
    for column in ("jobs", *sorted(counts), "sub-steps done", "calls in flight", "circuit"):
        table.add_column(column)
    total = len(jobs) * len(jobs[0].sub_steps) if jobs else 0
    table.add_row(
        str(len(jobs)),
        *(str(counts[k]) for k in sorted(counts)),
        f"{steps}/{total}",
        str(status["calls_in_flight"]),
        status["circuit"],
    )
    return table


def job_table(app: Registrations, job_ids: list[str]) -> Table:
    """One row per job: restaurant, status, current phase, sub-steps done, error."""
    table = Table(title="Step 6 results")
    for column in ("restaurant", "job", "status", "phase", "done", "failed", "error"):
        table.add_column(column)
    for job_id in job_ids:
        job = app.job(job_id)
        shown = job.shown_statuses()
        done = sum(1 for s in shown.values() if s in ("completed", "skipped"))
        failed = [k for k, s in shown.items() if s == "failed"]
        table.add_row(
            str(job.restaurant.get("name")),
            job_id[:8],
            str(job.status),
            str(job.current_phase or "-"),
            f"{done}/{len(shown)}",
            ", ".join(failed) or "-",
            job.last_error or "",
        )
    return table
