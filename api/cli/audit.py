"""`regflow events` and the helpers every audit command shares: the store, times, records."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO

from rich.table import Table

from api.cli.commands import Command, arg, json_flag
from api.cli.failures import CannotRun, say
from api.cli.ids import full_id
from api.cli.output import cells, console, escape_masked, escape_text
from domain.event_names import event_reason, public_event_name, public_name_of
from domain.job import RegistrationJob
from domain.written_values import moment_of
from infrastructure.chain.unreadable import FIND_TAMPERING, UNREADABLE, unreadable_log
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.folds.timeline import event_data


@contextmanager
def open_store(create: bool = False) -> Iterator[Registrations]:
    """The use-case layer on the store REGFLOW_DATABASE_URL names, closed afterwards; an SQLite
    file that is not there is refused unless `create` (a mistyped path would be a new store)."""
    settings = Settings()
    if not create:
        settings.require_existing_store()
    app = Registrations(settings)
    try:
        yield app
    finally:
        app.close()


def iso_time(text: str) -> datetime:
    """An ISO 8601 time for argparse; a time without zone is taken as UTC."""
    try:
        return moment_of(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None


JOB = arg("job", metavar="JOB", help="the job's id")
TIME_RANGE = (
    arg("--since", type=iso_time, help="only events at or after this ISO time (no offset: UTC)"),
    arg("--until", type=iso_time, help="only events at or before this ISO time (no offset: UTC)"),
)


def json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def write_json(record: Any, out: TextIO | None = None) -> None:
    """One JSON document on one line."""
    print(json.dumps(record, default=json_default, sort_keys=False), file=out or sys.stdout)


def event_record(event: Any) -> dict[str, Any]:
    """What an auditor sees of one event: envelope fields and its data, secrets masked; its
    data as the API's timeline shows it (`event_data`), so the two audits read alike."""
    data = event_data(event)
    return {
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "type": public_event_name(event),
        "at": event.timestamp.isoformat(),
        "actor": data.get("actor") or "engine",
        "reason": event_reason(data),
        "data": data,
    }


def checked_time_range(args: argparse.Namespace) -> None:
    """Refuse a time range no moment is in (`--since` after `--until`): its empty answer would
    read as "no events" to a script."""
    if args.since is not None and args.until is not None and args.since > args.until:
        raise CannotRun(
            f"--since {args.since.isoformat()} is after --until {args.until.isoformat()}:"
            " no moment is in that range"
        )


def within(event: Any, since: datetime | None, until: datetime | None) -> bool:
    """Whether the event happened in [since, until]."""
    return (since is None or event.timestamp >= since) and (
        until is None or event.timestamp <= until
    )


def short(data: dict[str, Any], width: int | None = 90) -> str:
    """The data as compact JSON, cut at `width` characters (None: never cut)."""
    text = json.dumps(data, default=json_default, separators=(",", ":"))
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def print_events(records: Iterable[dict[str, Any]], as_json: bool, title: str) -> int:
    """Records as JSON lines, or as a table; returns how many were shown."""
    count = 0
    out = console()
    width = 90 if out.is_terminal else None
    table = Table(title=escape_text(title), show_lines=False)
    for column in ("version", "at", "type", "actor", "reason", "data"):
        table.add_column(column, overflow="fold")
    for record in records:
        count += 1
        if as_json:
            write_json(record)
            continue
        shown = cells(record["version"], record["at"], record["type"], record["actor"])
        shown += cells(record["reason"]) + [escape_masked(short(record["data"], width))]
        table.add_row(*shown)
    if not as_json:
        out.print(table)
    return count


def job_event_names() -> list[str]:
    """The public name of every event a job's log can hold, as the job declares its events."""
    return [
        public_name_of(kind)
        for kind in vars(RegistrationJob).values()
        if isinstance(kind, type)
        and issubclass(kind, RegistrationJob.Event)
        and kind is not RegistrationJob.Event
    ]


def event_types(text: str) -> set[str]:
    """`--type`: comma-separated names of job events, in any case; an unknown one is refused."""
    known = job_event_names()
    given = [name.strip() for name in text.split(",") if name.strip()]
    if not given:  # read as no filter, every event would be shown
        raise argparse.ArgumentTypeError("name at least one event type, e.g. SubStepFailed")
    unknown = [name for name in given if name.lower() not in {k.lower() for k in known}]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"no job event is called {', '.join(unknown)} (known: {', '.join(known)})"
        )
    return {name.lower() for name in given}


def unreadable(exc: BaseException, aggregate: str) -> int:
    """Exit 2 saying what is wrong with a log that was changed by hand; re-raise another error."""
    what = unreadable_log(exc, aggregate)
    if what is None:
        raise exc
    say(f"{what}; {FIND_TAMPERING}")
    return 2


def show_events(args: argparse.Namespace) -> int:
    """The job's log, filtered; exit 0 even when the filters leave nothing, 2 when unreadable."""
    try:
        records = read_events(args)
    except UNREADABLE as exc:
        return unreadable(exc, f"job {args.job}")
    shown = print_events(records, args.json, f"events of job {args.job}")
    if not args.json and not shown:
        console(stderr=True).print("no events match these filters")
    return 0


def read_events(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The records of the job's events that pass the filters."""
    checked_time_range(args)
    types = set().union(*args.type) if args.type else set()
    with open_store() as app:
        args.job = full_id(app, "job", args.job)
        job = app.audited_job(args.job)
        events = [
            e
            for e in app.events.get(job.id)
            if within(e, args.since, args.until)
            and (not types or public_event_name(e).lower() in types)
        ]
        records = [event_record(e) for e in events]
    return [r for r in records if not args.actor or r["actor"] == args.actor]


COMMANDS = (
    Command(
        "events",
        "a job's event log (version, time, type, actor, reason, data; secrets masked)",
        show_events,
        description="Print a job's events from the log, oldest first. Exit 0, 1 if the job "
        "does not exist, 2 if its stored events cannot be read (changed by hand: `regflow "
        "verify-log` names them).",
        arguments=(
            JOB,
            arg(
                "--type",
                action="append",
                type=event_types,
                help="only these event types (repeat or comma-separate), e.g. SubStepFailed",
            ),
            *TIME_RANGE,
            arg("--actor", help="only events by this actor (engine, user:<id>, system)"),
            json_flag("JSON lines instead of a table"),
        ),
    ),
)
