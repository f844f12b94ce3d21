"""`regflow batches` and `regflow jobs BATCH`: what is in the store, as the console lists it."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, get_args

from rich.console import Console
from rich.table import Table

from api.cli.audit import json_default
from api.cli.commands import Command, OneOf, arg, json_flag
from api.cli.ids import LazyViews, id_argument, resolve
from api.cli.output import SHORT_ID, add_id_column
from api.cli.output import console as make_console
from api.cli.output import escape_text as escape
from api.cli.run_display import words
from api.cli.values import MOST_LISTED, named_organisation, positive_count
from api.schemas.batches import JobStatusFilter
from domain.status import SubStepStatus
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

BLOCKED = SubStepStatus.BLOCKED.value


@dataclass
class Operator:
    """The store, its read models (opened when needed) and the organisation in scope."""

    app: Registrations
    views: LazyViews
    organisation_id: str | None

    def job_id(self, given: str) -> str:
        """The job `given` names, its log checked against the hash chain first: a command
        changes no job whose stored events were changed by hand (exit 2, naming it)."""
        job_id = resolve("job", given, self.views, self.organisation_id)
        self.app.audited_job(job_id)
        return job_id

    def batch_id(self, given: str) -> str:
        return resolve("batch", given, self.views, self.organisation_id)


@contextmanager
def operating(organisation_id: str | None = None) -> Iterator[Operator]:
    """The use-case layer on the configured store, closed afterwards (a store that is not
    there is refused, not made)."""
    settings = Settings()
    settings.require_existing_store()
    app = Registrations(settings)
    views = LazyViews(app)
    try:
        yield Operator(app, views, organisation_id)
    finally:
        views.close()
        app.close()


PRINT_JSON = json_flag("print JSON")  # the --json that `emit` answers


def emit(args: argparse.Namespace, data: Any, render: Callable[[Console], None]) -> None:
    """`data` as JSON with --json, else what `render` prints (whole ids when piped)."""
    if getattr(args, "json", False):
        print(json.dumps(data, default=json_default, indent=2))
    else:
        render(make_console())


def list_batches(args: argparse.Namespace) -> int:
    org = None if args.all else args.org or Settings().default_org
    with operating(org) as op:
        found = op.views().list_batches(org, args.limit, 0)

    def render(console: Console) -> None:
        scope = "any organisation" if org is None else f"organisation {org}"
        if not found:
            console.print(f"no batches in {escape(scope)}")
            return
        table = Table(title=f"Batches of {escape(scope)}")
        add_id_column(table, "batch")
        for column in ("name", "status", "jobs", "created (UTC)"):
            table.add_column(column)
        for b in found:
            counts = {k: b[k] for k in ("completed", "failed", "cancelled", "in_progress")}
            counts["pending"] = b["pending"]
            table.add_row(
                b["id"] if not console.is_terminal else b["id"][:SHORT_ID],
                escape(str(b["name"])),
                b["status"].replace("_", " "),
                f"{b['total']}: {words(counts)}",
                str(b["created_at"])[:19].replace("T", " "),
            )
        console.print(table)

    emit(args, found, render)
    return 0


def list_jobs(args: argparse.Namespace) -> int:
    with operating() as op:
        batch_id = op.batch_id(args.batch)
        op.app.batch(batch_id)
        found = op.views().job_summaries(batch_id)
    if args.status == BLOCKED:
        found = [j for j in found if (j["counts"] or {}).get(BLOCKED, 0) > 0]
    elif args.status:
        found = [j for j in found if j["status"] == args.status]

    def render(console: Console) -> None:
        which = f" {args.status.replace('_', ' ')}" if args.status else ""
        if not found:
            console.print(f"no{which} jobs in batch {batch_id}")
            return
        table = Table(title=f"{len(found)}{which} jobs of batch {batch_id}")
        add_id_column(table, "job")
        for column in ("restaurant", "status", "phase", "sub-steps", "last error"):
            table.add_column(column, overflow="fold")
        for j in found:
            table.add_row(
                j["id"] if not console.is_terminal else j["id"][:SHORT_ID],
                escape(str(j["name"])),
                j["status"].replace("_", " "),
                str(j["current_phase"] or "-"),
                words(j["counts"] or {}),
                escape(j["last_error"] or ""),
            )
        console.print(table)

    emit(args, found, render)
    return 0


COMMANDS = (
    Command(
        "batches",
        "list batches, newest first",
        list_batches,
        arguments=(
            OneOf(
                (
                    arg(
                        "--org",
                        type=named_organisation,
                        help="this organisation (default: REGFLOW_DEFAULT_ORG, dev)",
                    ),
                    arg("--all", action="store_true", help="every organisation"),
                )
            ),
            arg(
                "--limit",
                type=positive_count,
                default=50,
                help=f"at most this many (default 50, at most {MOST_LISTED})",
            ),
            PRINT_JSON,
        ),
    ),
    Command(
        "jobs",
        "list the jobs of a batch",
        list_jobs,
        arguments=(
            id_argument("batch"),
            arg(
                "--status",
                choices=get_args(JobStatusFilter),
                help=f"only jobs with this status ({BLOCKED}: a sub-step waits on a failed one)",
            ),
            PRINT_JSON,
        ),
    ),
)
