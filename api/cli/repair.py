"""`regflow start`, `resume`, `reset`, `mark` and `cancel`: repair from the shell, as the
console does.

Each goes through the same use-case layer as the API, as the actor `cli:<user>`. A running
`regflow serve` or `regflow work` on the same store picks resumed jobs up.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from api.cli.actor import cli_actor
from api.cli.commands import Command, arg
from api.cli.failures import CannotRun
from api.cli.ids import id_argument
from api.cli.operate import PRINT_JSON, emit, operating
from api.cli.output import escape_text as escape
from domain.exceptions import RegflowError, SubStepNotFound, UnknownSubStepsEdited
from domain.status import JobStatus
from infrastructure.chain.unreadable import UNREADABLE, unreadable_log

PICKED_UP = "a running `regflow serve` or `regflow work` on this store picks it up"


def start_command(args: argparse.Namespace) -> int:
    """Start Step 6 of a batch's jobs (the named ones, else every job not started yet): what
    a `batch run` stopped before its start left pending."""
    with operating() as op:
        batch_id = op.batch_id(args.batch)
        chosen = [op.job_id(j) for j in args.job] if args.job else None
        outcome = op.app.start_step6(None, batch_id, chosen, cli_actor())
    result = {
        "batch_id": batch_id,
        "started": outcome.started,
        "already_started": outcome.already_started,
        "left_cancelled": outcome.left_cancelled,
    }

    def render(console: Console) -> None:
        console.print(
            f"started {len(outcome.started)} jobs of batch {batch_id}"
            f" ({len(outcome.already_started)} had started already)"
        )
        if outcome.left_cancelled:
            left = len(outcome.left_cancelled)
            console.print(f"{left} cancelled before they started: name them with --job to start")
        if outcome.started:
            console.print(f"[dim]{PICKED_UP}[/dim]")

    emit(args, result, render)
    return 0


def resume_command(args: argparse.Namespace) -> int:
    if bool(args.job) == bool(args.batch):
        raise CannotRun("Give a JOB, or --batch BATCH --failed")
    if args.batch and not args.failed:
        raise CannotRun("Say which jobs of the batch to resume: --batch BATCH --failed")
    results: list[dict[str, Any]] = []
    with operating() as op:
        if args.job:
            job_ids = [op.job_id(args.job)]
        else:
            batch_id = op.batch_id(args.batch)
            op.app.batch(batch_id)
            jobs = op.views().job_summaries(batch_id)
            job_ids = [j["id"] for j in jobs if j["status"] == "failed"]
        for job_id in job_ids:
            try:
                if not args.job:  # a named job's log was checked as its id was read
                    op.app.audited_job(job_id)
                plan, _, changed = op.app.resume(None, job_id, cli_actor())
            except RegflowError as exc:
                if args.job:
                    raise
                results.append({"job_id": job_id, "resumed": False, "error": exc.message})
                continue
            except UNREADABLE as exc:  # one job's log changed by hand: the others are resumed
                if args.job:
                    raise
                said = unreadable_log(exc, f"job {job_id}")
                results.append({"job_id": job_id, "resumed": False, "error": said})
                continue
            results.append({"job_id": job_id, "resumed": changed, **plan.as_answer()})

    def render(console: Console) -> None:
        if not results:
            console.print("no failed jobs in that batch: nothing to resume")
        for r in results:
            if r.get("error"):
                console.print(f"[red]not resumed[/red] {r['job_id']}: {escape(r['error'])}")
            elif r["resumed"]:
                runs = r["resume_plan"]
                what = f"{runs['phase']}: {', '.join(runs['sub_steps'])}" if runs["phase"] else "-"
                console.print(f"resumed {r['job_id']}; runs {what}")
            else:
                console.print(f"{r['job_id']}: nothing to resume (running or completed)")
        if any(r["resumed"] for r in results):
            console.print(f"[dim]{PICKED_UP}[/dim]")

    emit(args, results, render)
    return 1 if any(r.get("error") for r in results) else 0


def edit_command(args: argparse.Namespace) -> int:
    reason = (args.reason or "").strip()
    if not reason and not args.dry_run:
        raise CannotRun("Give a --reason: manual edits are recorded with why they were made")
    key = args.sub_step  # one the plan does not have is refused, and the refusal audited
    target = "pending" if args.command == "reset" else args.status
    with operating() as op:
        job_id = op.job_id(args.job)
        edits = [(key, target, None)]
        try:
            outcome = op.app.edit(None, job_id, edits, cli_actor(), reason, args.dry_run)
        except UnknownSubStepsEdited:  # refused and audited, as in a bulk edit
            raise SubStepNotFound(key) from None
    check = outcome.checks[0]
    data = {
        "job_id": job_id,
        "sub_step": key,
        "status": target,
        "reset": check.cascade,
        "warnings": check.warnings,
        "version": outcome.version,
        "job_status": str(outcome.job_status),
        "dry_run": outcome.dry_run,
    }

    def render(console: Console) -> None:
        verb = "would set" if args.dry_run else "set"
        console.print(f"{verb} {key} of job {job_id} to {target}")
        dependents = [k for k in check.cascade if k != key]  # the cascade starts at `key`
        if dependents:
            console.print(f"  with its dependents: {', '.join(dependents)}")
        for warning in check.warnings:
            console.print(f"  [yellow]warning[/yellow]: {escape(warning)}")
        if args.dry_run:
            console.print("dry run: nothing changed")
        elif outcome.job_status == JobStatus.COMPLETED:  # nothing left for a resume to run
            console.print("job is completed")
        else:
            console.print(f"job is {str(outcome.job_status).replace('_', ' ')}; resume it to run")

    emit(args, data, render)
    return 0


def cancel_command(args: argparse.Namespace) -> int:
    with operating() as op:
        job_id = op.job_id(args.job)
        saved = op.app.cancel(None, job_id, cli_actor(), (args.reason or "").strip() or None)
    data = {"job_id": job_id, "cancelled": True, "version": saved.version}
    emit(args, data, lambda c: c.print(f"cancelled {job_id}"))
    return 0


JOB = id_argument("job")
SUB_STEP = arg("sub_step", metavar="SUB_STEP", help="e.g. menuImport")
TARGETS = ("completed", "failed", "skipped")
EDITING = (
    arg("--reason", help="why, for the audit trail (required unless --dry-run)"),
    arg("--dry-run", action="store_true", help="show what would change only"),
    PRINT_JSON,
)
COMMANDS = (
    Command(
        "start",
        "start Step 6 of a batch's jobs (every job not started yet, or the named ones)",
        start_command,
        arguments=(
            id_argument("batch"),
            arg(
                "--job",
                metavar="JOB",
                action="append",
                help="only this job (repeat for more); a job cancelled before it started is "
                "started only when named",
            ),
            PRINT_JSON,
        ),
    ),
    Command(
        "resume",
        "resume a failed or cancelled job (or a batch's)",
        resume_command,
        arguments=(
            id_argument("job", nargs="?"),
            arg("--batch", metavar="BATCH", help="with --failed: this batch's jobs"),
            arg("--failed", action="store_true", help="with --batch: its failed jobs"),
            PRINT_JSON,
        ),
    ),
    Command(
        "reset",
        "reset a sub-step (and its dependents) to pending",
        edit_command,
        arguments=(JOB, SUB_STEP, *EDITING),
    ),
    Command(
        "mark",
        "set a sub-step's status by hand",
        edit_command,
        arguments=(
            JOB,
            SUB_STEP,
            arg("status", metavar="STATUS", choices=TARGETS, help="|".join(TARGETS)),
            *EDITING,
        ),
    ),
    Command(
        "cancel",
        "cancel a job",
        cancel_command,
        arguments=(JOB, arg("--reason", help="why, for the audit trail"), PRINT_JSON),
    ),
)
