"""`regflow batch run FILE`: create a batch and run Step 6 to the end with a live display."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import uvloop
from pydantic import ValidationError
from rich.console import Console
from rich.live import Live

from api.cli import run_display
from api.cli.actor import cli_actor
from api.cli.commands import Command, arg, json_flag
from api.cli.failures import CannotRun
from api.cli.output import console as make_console
from api.cli.output import escape_text
from api.cli.values import named_organisation, positive_seconds
from api.errors import field_errors
from api.parsing import checked_body, loads
from api.schemas import CreateBatch
from domain.exceptions import InvalidInput
from infrastructure.engine.identity import WorkerIdentity, hold_worker_id
from infrastructure.engine.wiring import running_engine
from infrastructure.engine.work_source import ChosenJobsSource
from infrastructure.errors import is_transient_exception
from infrastructure.persistence import require_key_file
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

REFRESH_SECONDS = 0.5


def read_batch(path: str, name: str | None) -> tuple[str, list[dict[str, Any]]]:
    """The batch name and restaurants a JSON file holds, checked as the API checks a new
    batch's body: each entry that is not a restaurant is named (`restaurants[2].name: ...`)."""
    try:
        data = loads(Path(path).read_bytes())
    except (ValueError, RecursionError) as exc:
        raise CannotRun(f"cannot read {path}: not JSON ({exc})") from None
    restaurants = data.get("restaurants") if isinstance(data, dict) else data
    if not isinstance(restaurants, list):
        raise InvalidInput(f"{path} must hold a list of restaurants or {{name, restaurants}}")
    default = data.get("name") if isinstance(data, dict) else None
    try:
        body = checked_body(
            {"name": name or default or Path(path).stem, "restaurants": restaurants}, CreateBatch
        )
    except ValidationError as exc:
        message = f"{path} holds no valid batch: nothing was created"
        raise InvalidInput(message, field_errors(exc)) from None
    return body.name, body.restaurant_records()


def batch_run(args: argparse.Namespace) -> int:
    """Create the batch, run Step 6 to the end with a live display, print the results."""
    settings = Settings()
    settings.require_registration_api()
    org = args.org or settings.default_org
    name, restaurants = read_batch(args.file, args.name)
    require_key_file(settings)  # before the worker id's lock file is made beside the store
    identity = hold_worker_id(settings)
    app = Registrations(settings)
    try:
        batch, jobs, _ = app.create_batch(org, cli_actor(), name, restaurants)
        app.start_step6(org, batch.id, None, cli_actor())
        job_ids = [str(j.id) for j in jobs]
        console = make_console(stderr=args.json)
        console.print(
            f"batch [bold]{escape_text(name)}[/bold] {batch.id} in organisation "
            f"[bold]{escape_text(org)}[/bold]: {len(job_ids)} jobs"
        )
        started = time.monotonic()
        run = _run_with_display(app, settings, identity, job_ids, args.timeout, console)
        done = uvloop.run(run)
        final = app.read(lambda: app.jobs(job_ids), "read the batch's jobs for the summary")
        if args.json:
            elapsed = time.monotonic() - started
            print(json.dumps(run_display.summary(batch, org, final, elapsed, done), indent=2))
        else:
            console.print(run_display.final_table(final, full_ids=not console.is_terminal))
        if not done:
            make_console(stderr=True).print(
                f"gave up after {args.timeout:g} s (--timeout) with jobs in progress: "
                "`regflow work` carries them on"
            )
        failed = [j for j in final if j.status != "completed"]
        return 0 if done and not failed else 1
    finally:
        app.close()
        identity.release()


async def _run_with_display(
    app: Registrations,
    settings: Settings,
    identity: WorkerIdentity,
    job_ids: list[str],
    timeout: float,
    console: Console,
) -> bool:
    """Run the engine on these jobs until none is in progress; on a terminal, a live table
    meanwhile. The engine works the batch's jobs only: another batch's, or another
    organisation's, are not this command's to run or to wait for."""
    source = ChosenJobsSource(app, job_ids)
    async with running_engine(app, settings, identity=identity, work_source=source) as engine:
        engine.wake(job_ids)
        idle = asyncio.ensure_future(engine.run_until_idle(timeout))
        if not console.is_terminal:
            return await idle
        started = time.monotonic()
        with Live(console=console, refresh_per_second=4, transient=True) as display:
            while not idle.done():
                try:
                    jobs = await asyncio.to_thread(app.jobs, job_ids)
                except Exception as exc:  # the store went away: the engine rides it out
                    if not is_transient_exception(exc):
                        raise
                else:
                    elapsed = time.monotonic() - started
                    display.update(run_display.live_table(jobs, elapsed, engine.status()))
                await asyncio.wait([idle], timeout=REFRESH_SECONDS)
        return idle.result()


COMMANDS = (
    Command(
        "batch",
        "run batches of restaurants",
        actions=(
            Command(
                "run",
                "create a batch from a JSON file and run Step 6",
                batch_run,
                description="Create a batch from FILE's restaurants, run Step 6 to the end and "
                "show each job's result. Exit 0 when every job completed, 1 when one did not, "
                "the run was given up, or FILE's restaurants were refused (each bad entry "
                "named), 2 when FILE cannot be read or is not JSON.",
                arguments=(
                    arg("file", help="JSON: a list of restaurants or {name, restaurants}"),
                    arg("--name", help="the batch name (default: the file's name)"),
                    arg(
                        "--org",
                        type=named_organisation,
                        help="the organisation the batch belongs to "
                        "(default: REGFLOW_DEFAULT_ORG, dev)",
                    ),
                    json_flag("print the final summary as JSON"),
                    arg(
                        "--timeout",
                        type=positive_seconds,
                        default=3600.0,
                        help="give up after this many seconds",
                    ),
                ),
            ),
        ),
    ),
)
