"""`regflow state`: a job's statuses, phases and context as they were at a time or version
(now, when neither is given)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from api.cli.audit import JOB, iso_time, json_default, open_store, unreadable, write_json
from api.cli.commands import Command, OneOf, arg, json_flag
from api.cli.ids import full_id
from api.cli.output import cells, console, escape_masked, escape_text
from api.cli.values import version_number
from domain.job import RegistrationJob
from domain.status import JobStatus
from infrastructure.chain.unreadable import UNREADABLE
from projections.folds.jobs import job_state

COLOURS = {"completed": "green", "failed": "red", "blocked": "magenta", "skipped": "dim"}


def state_record(job: RegistrationJob) -> dict[str, Any]:
    """The job's state, as the state query answers it, laid out by sub-step for the CLI."""
    state = job_state(job)
    progress = state["sub_step_progress"]
    phases = progress["phases"]
    items = {key: item for phase in phases.values() for key, item in phase["sub_steps"].items()}
    cancelled = job.status == JobStatus.CANCELLED
    return {
        "job_id": state["job_id"],
        "version": state["version"],
        "as_of": state["at"],
        "status": state["status"],
        "current_phase": progress["current_phase"],
        "registration_api": progress["registration_api"],
        "phases": {phase: shown["status"] for phase, shown in phases.items()},
        "statuses": {key: item["status"] for key, item in items.items()},
        "sub_steps": {
            key: {
                "phase": phase,
                "status": item["status"],
                "attempts": item["attempts"],
                "generation": job.sub_steps[key].generation,
                "error": item["error"],
            }
            for phase, shown in phases.items()
            for key, item in shown["sub_steps"].items()
        },
        "context": progress["context"],
        # A job cancelled before its Step 6 started is started by a resume: its plan is shown.
        "resume": job.resume_plan().as_answer() if job.step6_started or cancelled else None,
    }


def resume_line(resume: dict[str, Any] | None) -> str:
    """What a resume would do, in the words of the API's answer and the timeline."""
    if resume is None:
        return "resume: Step 6 never started"
    plan = resume["resume_plan"]
    done = resume["resuming_from"] or "none"
    where = f"resumes in {plan['phase']} with {', '.join(plan['sub_steps'])}"
    return f"resume: last complete phase {done}, " + (where if plan["phase"] else "nothing to run")


def print_state(record: dict[str, Any]) -> None:
    out = console()
    phases = ", ".join(f"{p} {s}" for p, s in record["phases"].items())
    out.print(
        f"[bold]job {record['job_id']}[/bold] version {record['version']} "
        f"(as of {record['as_of']}): [bold]{escape_text(record['status'])}[/bold]"
    )
    out.print(f"phases: {escape_text(phases)}")
    api = record["registration_api"]
    out.print(
        "registration API: " + escape_text(api if api else "not recorded (no worker claimed it)")
    )
    out.print(escape_text(resume_line(record["resume"])))
    table = Table()
    for column in ("phase", "sub-step", "status", "attempts", "error"):
        table.add_column(column, overflow="fold")
    for key, item in record["sub_steps"].items():
        colour = COLOURS.get(item["status"], "yellow")
        phase, name, status, attempts, error = cells(
            item["phase"], key, item["status"], item["attempts"], item["error"]
        )
        table.add_row(phase, name, f"[{colour}]{status}[/{colour}]", attempts, error)
    out.print(table)
    context = {k: v for k, v in record["context"].items() if k != "results"}
    out.print("context:", escape_masked(json.dumps(context, default=json_default)))


def show_state(args: argparse.Namespace) -> int:
    """Print the job as it was; exit 1 if it or that moment does not exist."""
    with open_store() as app:
        args.job = full_id(app, "job", args.job)
        try:
            app.audited_job(args.job)
            record = state_record(app.job_as_of(args.job, None, args.at, args.version))
        except UNREADABLE as exc:
            return unreadable(exc, f"job {args.job}")
    if args.json:
        write_json(record)
    else:
        print_state(record)
    return 0


COMMANDS = (
    Command(
        "state",
        "a job's statuses, phases and context now, or at a past time or version, from the log",
        show_state,
        description="Fold the job's events up to a time or version (all of them when neither "
        "is given) and show the state then. Exit 1 when the job, or the job at that moment, "
        "does not exist.",
        arguments=(
            JOB,
            OneOf(
                (
                    arg(
                        "--at",
                        type=iso_time,
                        metavar="ISO_TIME",
                        help="as it was at this ISO time (no offset: UTC)",
                    ),
                    arg(
                        "--version",
                        type=version_number,
                        metavar="N",
                        help="as it was at version N",
                    ),
                ),
            ),
            json_flag("one JSON document instead of tables"),
        ),
    ),
)
