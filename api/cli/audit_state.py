"""`regflow state`: a job's statuses, phases and context as they were at a time or version."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from api.cli.audit import iso_time, json_default, open_store, write_json
from domain.job import RegistrationJob
from domain.plan import PLAN
from domain.secrets import redact

COLOURS = {"completed": "green", "failed": "red", "blocked": "magenta", "skipped": "dim"}


def state_record(job: RegistrationJob) -> dict[str, Any]:
    """The job's state as the CLI and its JSON show it, secrets masked."""
    shown = job.shown_statuses()
    return {
        "job_id": str(job.id),
        "version": job.version,
        "as_of": job.modified_on.isoformat(),
        "status": str(job.status),
        "current_phase": job.current_phase,
        "registration_api": job.registration_api,
        "phases": job.phase_statuses(),
        "statuses": shown,
        "sub_steps": {
            key: {
                "phase": PLAN.phase_of(key),
                "status": shown[key],
                "attempts": state.attempts,
                "generation": state.generation,
                "error": state.error,
            }
            for key, state in job.sub_steps.items()
        },
        "context": redact(json.loads(json.dumps(job.context, default=json_default))),
    }


def print_state(record: dict[str, Any]) -> None:
    console = Console()
    phases = ", ".join(f"{p} {s}" for p, s in record["phases"].items())
    console.print(
        f"[bold]job {record['job_id']}[/bold] version {record['version']} "
        f"(as of {record['as_of']}): [bold]{record['status']}[/bold]"
    )
    console.print(f"phases: {phases}")
    api = record["registration_api"]
    console.print(
        "registration API: " + (api if api else "not recorded (no worker claimed it)"),
        markup=False,
    )
    table = Table()
    for column in ("phase", "sub-step", "status", "attempts", "error"):
        table.add_column(column, overflow="fold")
    for key, item in record["sub_steps"].items():
        colour = COLOURS.get(item["status"], "yellow")
        table.add_row(
            item["phase"],
            key,
            f"[{colour}]{item['status']}[/{colour}]",
            str(item["attempts"]),
            item["error"] or "",
        )
    console.print(table)
    context = {k: v for k, v in record["context"].items() if k != "results"}
    console.print("context:", json.dumps(context, default=json_default))


def show_state(args: argparse.Namespace) -> int:
    """Print the job as it was; exit 1 if it or that moment does not exist."""
    with open_store() as app:
        record = state_record(app.job_as_of(args.job, None, args.at, args.version))
    if args.json:
        write_json(record)
    else:
        print_state(record)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `regflow state`."""
    parser = commands.add_parser(
        "state",
        help="a job's statuses, phases and context at a past time or version, from the log",
        description="Fold the job's events up to a time or version and show the state then. "
        "Exit 1 when the job, or the job at that moment, does not exist.",
    )
    parser.add_argument("job", metavar="JOB", help="the job's id")
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", type=iso_time, metavar="ISO_TIME", help="as it was at this time")
    when.add_argument("--version", type=int, metavar="N", help="as it was at version N")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of tables")
    parser.set_defaults(handler=show_state)
