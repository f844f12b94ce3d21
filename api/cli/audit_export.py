"""`regflow export`: JSON lines of a batch's or an organisation's events, secrets masked."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

from api.cli.audit import TIME_RANGE, event_record, open_store, within, write_json
from api.cli.commands import Command, OneOf, arg, json_flag
from api.cli.ids import full_id
from api.cli.output import console, escape_text
from domain.exceptions import NotFound
from infrastructure.usecases.registrations import Registrations

PAGE = 1000
CREATED_TOPICS = frozenset({"regflow:RegistrationJob.Created", "regflow:RegistrationBatch.Created"})


def batch_events(app: Registrations, batch_id: str) -> list[Any]:
    """The batch's events and its jobs' events, in time order."""
    batch = app.batch(batch_id)
    events = [e for aggregate in (batch.id, *batch.job_ids) for e in app.events.get(aggregate)]
    return sorted(events, key=lambda e: (e.timestamp, str(e.originator_id), e.originator_version))


def organisation_events(app: Registrations, organisation_id: str | None) -> Iterator[Any]:
    """Every event of the organisation's batches and jobs (None: of all), in log order."""
    members: set[Any] = set()
    position = 0
    while page := app.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        for notification in page:
            if organisation_id is None or notification.originator_id in members:
                yield app.mapper.to_domain_event(notification)
            elif notification.topic in CREATED_TOPICS:
                event = app.mapper.to_domain_event(notification)
                if getattr(event, "organisation_id", None) == organisation_id:
                    members.add(notification.originator_id)
                    yield event
        position = page[-1].id


def export(args: argparse.Namespace) -> int:
    """Write the selected events as JSON lines; exit 1 when the batch or organisation is unknown."""
    count = 0
    with ExitStack() as stack:
        out = stack.enter_context(open(args.output, "w")) if args.output else sys.stdout
        app = stack.enter_context(open_store())
        if args.batch:
            args.batch = full_id(app, "batch", args.batch)
            events: Any = batch_events(app, args.batch)
        else:
            events = organisation_events(app, args.org)
        found = False
        for event in events:
            found = True
            if within(event, args.since, args.until):
                write_json(event_record(event), out)
                count += 1
    if args.org and not found:
        raise NotFound(f"No batches or jobs of organisation {args.org}")
    if args.output:
        console(stderr=True).print(f"wrote {count} events to {escape_text(args.output)}")
    return 0


COMMANDS = (
    Command(
        "export",
        "JSON lines of a batch's or an organisation's events, for an audit",
        export,
        description="One JSON document per event (aggregate id, version, type, time, actor, "
        "reason, data with secrets masked), in time order. Exit 1 when the batch or "
        "organisation is unknown. Without --batch or --org: every event of the time range.",
        arguments=(
            OneOf(
                (
                    arg("--batch", metavar="ID", help="the batch and all its jobs"),
                    arg("--org", metavar="ID", help="every batch and job of the organisation"),
                )
            ),
            *TIME_RANGE,
            arg("--output", metavar="FILE", help="write to FILE instead of standard output"),
            json_flag("JSON lines (what export always writes; for symmetry)"),
        ),
    ),
)
