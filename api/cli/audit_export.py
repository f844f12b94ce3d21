"""`regflow export`: JSON lines of a batch's or an organisation's events, secrets masked."""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, TextIO

from api.cli.audit import (
    TIME_RANGE,
    checked_time_range,
    event_record,
    open_store,
    unreadable,
    within,
    write_json,
)
from api.cli.commands import Command, OneOf, arg, json_flag
from api.cli.ids import full_id
from api.cli.output import console, escape_text
from api.cli.streams import OutputFailed, text_output
from api.cli.values import given_text
from domain.exceptions import NotFound
from infrastructure.chain.unreadable import UNREADABLE
from infrastructure.event_store import VersionsSkipped
from infrastructure.usecases.registrations import Registrations

PAGE = 1000
CREATED = ".Created"  # the topic ending of every aggregate's first event


def batch_events(app: Registrations, batch_id: str) -> list[Any]:
    """The batch's events and its jobs' events, in time order; each aggregate's log checked
    against the hash chain first (UNREADABLE, naming it, when it was changed by hand)."""
    batch = app.batch(batch_id)
    events = []
    for aggregate in (batch.id, *batch.job_ids):
        try:
            events += list(app.events.get(aggregate))
            app.check_log_of(aggregate)
        except UNREADABLE as exc:
            raise Tampered(
                exc, f"{'batch' if aggregate == batch.id else 'job'} {aggregate}"
            ) from exc
    return sorted(events, key=lambda e: (e.timestamp, str(e.originator_id), e.originator_version))


class Tampered(Exception):
    """An exported aggregate's stored log was changed by hand: `error` says how."""

    def __init__(self, error: BaseException, aggregate: str) -> None:
        super().__init__(error, aggregate)
        self.error, self.aggregate = error, aggregate


def organisation_events(app: Registrations, organisation_id: str | None) -> Iterator[Any]:
    """Every event of the organisation's batches, jobs and erasures (None: of every aggregate),
    in log order. Each aggregate exported has its log checked against the hash chain when it
    is first met, before any of its events is given; one whose first event in the log is not
    its first version lost that event (Tampered, naming it)."""
    members: set[Any] = set()
    seen: set[Any] = set()
    position = 0
    while page := app.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        for notification in page:
            oid = notification.originator_id
            first = oid not in seen
            if first:
                seen.add(oid)
                if notification.originator_version != 1:
                    skipped = VersionsSkipped(oid, notification.originator_version, 1)
                    raise Tampered(skipped, aggregate_named(oid, notification.topic))
            if organisation_id is None or oid in members:
                yield checked(app, notification, first)
            elif notification.topic.endswith(CREATED):
                event = app.mapper.to_domain_event(notification)
                if getattr(event, "organisation_id", None) == organisation_id:
                    members.add(oid)
                    checked(app, notification, first)
                    yield event
        position = page[-1].id


def checked(app: Registrations, notification: Any, first: bool) -> Any:
    """The notification's event, its aggregate's log checked against the chain when `first`."""
    if first:
        try:
            app.check_log_of(notification.originator_id)
        except UNREADABLE as exc:
            named = aggregate_named(notification.originator_id, notification.topic)
            raise Tampered(exc, named) from exc
    return app.mapper.to_domain_event(notification)


def aggregate_named(originator_id: Any, topic: str) -> str:
    """`job ID`, `batch ID` or `aggregate ID`, by the class its event's topic names."""
    kind = {"RegistrationJob": "job", "RegistrationBatch": "batch"}
    return f"{kind.get(topic.rpartition(':')[2].split('.')[0], 'aggregate')} {originator_id}"


def selected_events(app: Registrations, args: argparse.Namespace) -> Iterable[Any]:
    """The events to export, refusing an unknown batch or organisation before any is written."""
    if args.batch:
        args.batch = full_id(app, "batch", args.batch)
        return batch_events(app, args.batch)
    events = organisation_events(app, args.org)
    first = next(events, None)
    if first is None:
        if args.org:
            raise NotFound(f"No batches or jobs of organisation {args.org}")
        return ()
    return itertools.chain((first,), events)


def is_stream(path: str) -> bool:
    """True for a device, a pipe or the process's own descriptor (`/dev/stdout`): written in
    place, since a file renamed into its place would never reach the reader."""
    given = Path(path)
    kernel = given.absolute().parts[1:2] in (("dev",), ("proc",))
    return given.exists() and (kernel or not given.is_file())


def output_file(text: str) -> str:
    """An --output that can be written: a file, new or not, in a directory that exists."""
    given = Path(given_text(text))
    if given.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory")
    if given.exists() and not os.access(given, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be written")
    if is_stream(text):
        return text
    folder = given.resolve().parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is in a directory that does not exist")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be written: its directory is read-only")
    return text


@contextmanager
def replacing(path: str) -> Iterator[TextIO]:
    """A file that takes the place of `path` once it is written whole; on failure, `path` stays
    as it was. A device or pipe (`/dev/stdout`) is written directly."""
    if is_stream(path):
        # Appended, not truncated: `regflow export --output /dev/stdout >> log` would empty the
        # log.
        with text_output(os.open(path, os.O_WRONLY | os.O_APPEND), path) as out:
            yield out
        return
    target = Path(path).resolve()  # a link keeps pointing where it did
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with text_output(fd, path) as out:
            yield out
            out.flush()
            synced(out, path)
        if target.exists():
            shutil.copymode(target, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def synced(out: TextIO, path: str) -> None:
    """`out` on the disk; OutputFailed naming `path` when the disk did not take it."""
    try:
        os.fsync(out.fileno())
    except OSError as exc:
        raise OutputFailed(exc.errno, exc.strerror, path) from None


def export(args: argparse.Namespace) -> int:
    """Write the selected events as JSON lines; exit 1 when the batch or organisation is unknown.

    A batch is checked whole before the output is opened. An organisation's aggregates (or
    every one) are checked each as it is first met: a log changed by hand stops the export
    there, exit 2; --output FILE is then left as it was, standard output holds what came
    before."""
    checked_time_range(args)
    count = 0
    with open_store() as app:
        try:
            events = selected_events(app, args)
            with replacing(args.output) if args.output else nullcontext(sys.stdout) as out:
                for event in events:
                    if within(event, args.since, args.until):
                        write_json(event_record(event), out)
                        count += 1
        except Tampered as tampered:
            return unreadable(tampered.error, tampered.aggregate)
    if args.output:
        console(stderr=True).print(f"wrote {count} events to {escape_text(args.output)}")
    return 0


COMMANDS = (
    Command(
        "export",
        "JSON lines of a batch's or an organisation's events, for an audit",
        export,
        description="One JSON document per event (aggregate id, version, type, time, actor, "
        "reason, data with secrets masked): a batch's in time order, an organisation's (or "
        "every event) in the order the log recorded them, which an event stamped a few "
        "milliseconds earlier by another process may follow. Exit 1 when the batch or "
        "organisation is unknown. Without --batch or --org: every event of the time range. "
        "--org holds the organisation's batches, jobs and erasures. --output FILE is replaced "
        "only once the whole export is written.",
        arguments=(
            OneOf(
                (
                    arg("--batch", metavar="ID", help="the batch and all its jobs"),
                    arg(
                        "--org",
                        metavar="ID",
                        help="every batch, job and erasure of the organisation",
                    ),
                )
            ),
            *TIME_RANGE,
            arg(
                "--output",
                metavar="FILE",
                type=output_file,
                help="write to FILE instead of standard output",
            ),
            json_flag("JSON lines (what export always writes; for symmetry)"),
        ),
    ),
)
