"""`regflow import-legacy`: jobs stuck in the old system become resumable jobs here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from rich.table import Table

from api.cli.audit import open_store, write_json
from api.cli.commands import Command, arg, json_flag
from api.cli.output import cells, console
from api.cli.values import named_organisation
from domain.exceptions import InvalidInput
from domain.limits import MAX_NAME, text_errors
from domain.secrets import redact
from infrastructure.legacy import LegacyJob, legacy_id_of, parse_job, read_export
from infrastructure.legacy_checks import resume_fates
from infrastructure.legacy_file import read_export_file
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import LegacyEntry, Registrations, validated_restaurant

ACTOR = "system"
OUTCOME_COLOURS = {"imported": "green", "refused": "yellow", "invalid": "red"}
Checked = tuple[dict[str, Any], LegacyJob]


def batch_name(text: str) -> str:
    """A batch name given on the command line: text a batch's name may be."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a batch name cannot be empty")
    if errors := text_errors(text, "name", MAX_NAME):
        raise argparse.ArgumentTypeError(errors[0].removeprefix("name: "))
    return text.strip()


def _outcome(index: int, entry: Any, kind: str, **details: Any) -> dict[str, Any]:
    found = legacy_id_of(entry)
    legacy_id = found if isinstance(found, str | int) and not isinstance(found, bool) else None
    record = {"index": index, "legacy_id": legacy_id, "job_id": None, "outcome": kind}
    return record | {"errors": [], "warnings": []} | details


def check_entry(
    app: Registrations, index: int, entry: Any, args: argparse.Namespace
) -> tuple[dict[str, Any], LegacyJob | None]:
    """The entry's outcome so far, and the job to import when it is valid and new."""
    try:
        job = parse_job(entry)
    except InvalidInput as exc:
        return _outcome(index, entry, "invalid", errors=exc.errors), None
    found = {"job_id": str(job.job_id), "warnings": job.warnings}
    organisation = args.org or job.organisation_id
    if not organisation:
        errors = ["The job names no organisation_id: give --org"]
        return _outcome(index, entry, "invalid", errors=errors, **found), None
    if app.recorder.select_events(job.job_id, limit=1):
        errors = [f"Job {job.job_id} is already in the log: not imported again"]
        return _outcome(index, entry, "refused", errors=errors, **found), None
    try:
        validated_restaurant(job.restaurant)
    except InvalidInput as exc:
        return _outcome(index, entry, "invalid", errors=exc.errors, **found), None
    return _outcome(index, entry, "imported", organisation_id=organisation, **found), job


def import_group(app: Registrations, organisation: str, name: str, group: list[Checked]) -> None:
    """Record one batch of legacy jobs in one transaction; if any was recorded meanwhile, none."""
    entries = [LegacyEntry(j.job_id, j.restaurant, j.sub_steps, j.context) for _, j in group]
    try:
        _, jobs, _ = app.import_legacy(organisation, name, entries, ACTOR)
    except IntegrityError:
        for outcome, job in group:
            outcome.update(outcome="refused", errors=[f"Job {job.job_id} was recorded meanwhile"])
        return
    for (outcome, job), imported in zip(group, jobs, strict=True):
        outcome.update(
            warnings=job.warnings_with(resume_fates(imported, job.interrupted)),
            job_status=str(imported.status),
            **imported.resume_plan().as_answer(),
            context_source=job.context_source,
            batch_name=name,
        )


def refuse_repeats(checked: list[tuple[dict[str, Any], LegacyJob | None]]) -> None:
    """Refuse each entry whose job an earlier entry of the file already imports."""
    first: dict[UUID, int] = {}
    for index, (outcome, job) in enumerate(checked):
        if job is None:
            continue
        if (earlier := first.setdefault(job.job_id, index)) != index:
            errors = [f"Job {job.job_id} is entry {earlier} of this file too: imported once"]
            outcome.update(outcome="refused", errors=errors)
            outcome.pop("organisation_id", None)
            checked[index] = (outcome, None)


def import_all(app: Registrations, entries: list[Any], args: argparse.Namespace) -> list[Any]:
    """Check every entry, then import the valid ones as one batch per organisation and name."""
    checked = [check_entry(app, i, entry, args) for i, entry in enumerate(entries)]
    refuse_repeats(checked)
    default_name = f"Legacy import of {Path(args.file).name}"
    groups: dict[tuple[str, str], list[Checked]] = {}
    for outcome, job in checked:
        if job is not None:
            name = args.batch_name or job.batch_name or default_name
            groups.setdefault((outcome["organisation_id"], name), []).append((outcome, job))
    for (organisation, name), group in groups.items():
        import_group(app, organisation, name, group)
    return [outcome for outcome, _ in checked]


def print_outcomes(outcomes: list[dict[str, Any]]) -> None:
    table = Table(title="legacy import")
    for column in ("#", "legacy id", "job", "outcome", "details"):
        table.add_column(column, overflow="fold")
    for item in outcomes:
        colour = OUTCOME_COLOURS[item["outcome"]]
        notes = item["errors"] + item["warnings"]
        if item["outcome"] == "imported":
            notes.insert(
                0,
                f"{item['job_status']}, context {item['context_source']}, "
                f"last complete phase {item['resuming_from'] or '-'}, "
                f"resumes in {item['resume_plan']['phase'] or '-'}",
            )
        index, legacy_id, job_id, outcome = cells(
            item["index"], item["legacy_id"], item["job_id"], item["outcome"]
        )
        details = "\n".join(cells(*notes))
        table.add_row(index, legacy_id, job_id, f"[{colour}]{outcome}[/{colour}]", details)
    console().print(table)


def import_legacy(args: argparse.Namespace) -> int:
    """Exit 0 when every job was imported, 1 when some were refused or invalid, 2 on a bad file."""
    try:
        entries = read_export(read_export_file(args.file, Settings().max_batch_bytes))
    except (OSError, UnicodeDecodeError, InvalidInput) as exc:
        print(f"error: cannot read {args.file}: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    with open_store(create=True) as app:
        outcomes = import_all(app, entries, args)
    if args.json:
        for outcome in outcomes:
            write_json(redact(outcome))  # masked as the table's cells are
    else:
        print_outcomes(outcomes)
    return 0 if all(o["outcome"] == "imported" for o in outcomes) else 1


COMMANDS = (
    Command(
        "import-legacy",
        "record jobs exported from the old system (sub_step_progress) so they can resume",
        import_legacy,
        description='FILE is a JSON list of jobs, or {"jobs": [...]}, each with its id, '
        "restaurant, execution_config and Step 6 sub_step_progress (context stored or not: "
        "when absent it is inferred from sub-step statuses). Exit 0 when every job was "
        "imported, 1 when some were refused (already imported) or invalid, 2 when the file "
        "cannot be read: not a regular file, or larger than REGFLOW_MAX_BATCH_BYTES (32 MiB "
        "unless set).",
        arguments=(
            arg("file", metavar="FILE", help="the old system's export (JSON)"),
            arg(
                "--org",
                metavar="ORG",
                type=named_organisation,
                help="organisation of every job (else each job's organisation_id)",
            ),
            arg(
                "--batch-name",
                metavar="NAME",
                type=batch_name,
                help="the batch the jobs are recorded in (else each job's batch name, or the "
                "file's)",
            ),
            json_flag("JSON lines, one per job entry"),
        ),
    ),
)
