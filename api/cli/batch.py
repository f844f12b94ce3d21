"""`regflow batch run FILE`: create a batch and run Step 6 to the end with a live display."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import uvloop
from rich.console import Console
from rich.live import Live

from api.cli import run_display
from api.cli.actor import cli_actor
from api.cli.commands import Command, arg, json_flag
from api.cli.output import console as make_console
from api.cli.output import escape_text
from domain.exceptions import InvalidInput
from infrastructure.engine.identity import WorkerIdentity, hold_worker_id
from infrastructure.engine.wiring import running_engine
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

REFRESH_SECONDS = 0.5


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
    """Create the batch, run Step 6 to the end with a live display, print the results."""
    settings = Settings()
    settings.require_registration_api()
    org = args.org or settings.default_org
    name, restaurants = read_batch(args.file, args.name)
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
        final = [app.job(j) for j in job_ids]
        if args.json:
            elapsed = time.monotonic() - started
            print(json.dumps(run_display.summary(batch, org, final, elapsed, done), indent=2))
        else:
            console.print(run_display.final_table(final, full_ids=not console.is_terminal))
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
    """Run the engine until the store is idle; on a terminal, a live table meanwhile."""
    async with running_engine(app, settings, identity=identity) as engine:
        engine.wake(job_ids)
        idle = asyncio.ensure_future(engine.run_until_idle(timeout))
        if not console.is_terminal:
            return await idle
        started = time.monotonic()
        with Live(console=console, refresh_per_second=4, transient=True) as display:
            while not idle.done():
                jobs = await asyncio.to_thread(lambda: [app.job(j) for j in job_ids])
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
                arguments=(
                    arg("file", help="JSON: a list of restaurants or {name, restaurants}"),
                    arg("--name", help="the batch name (default: the file's name)"),
                    arg(
                        "--org",
                        help="the organisation the batch belongs to "
                        "(default: REGFLOW_DEFAULT_ORG, dev)",
                    ),
                    json_flag("print the final summary as JSON"),
                    arg(
                        "--timeout",
                        type=float,
                        default=3600.0,
                        help="give up after this many seconds",
                    ),
                ),
            ),
        ),
    ),
)
