"""`regflow verify-log`: check every stored event against its aggregate's hash chain."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from api.cli.audit import open_store, write_json
from api.cli.commands import Command, json_flag
from api.cli.failures import say
from api.cli.output import cells, console, escape_text
from domain.exceptions import RegflowError
from infrastructure.chain.hashing import ChainedRecorder
from infrastructure.chain.verify import ChainReport, verify_chain
from infrastructure.usecases.registrations import Registrations

SHOWN_UNCHAINED = 10


def check_log(app: Registrations, show_progress: bool) -> ChainReport:
    """Verify the whole log, with a progress bar on a terminal."""
    recorder = app.recorder
    if not isinstance(recorder, ChainedRecorder):
        raise RegflowError("This store's recorder keeps no hash chain (PERSISTENCE_MODULE)")
    orphans, start = recorder.orphan_links(), recorder.chain_start()
    if not show_progress:
        return verify_chain(recorder.chain_rows(), orphans, key=recorder.chain_key, start=start)
    total = int(recorder.max_notification_id() or 0)
    columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("verify", total=total)
        advance = lambda n: bar.advance(task, n)  # noqa: E731
        return verify_chain(recorder.chain_rows(), orphans, advance, recorder.chain_key, start)


def report_record(report: ChainReport) -> dict[str, Any]:
    """The report as one JSON document."""
    return {
        "ok": report.ok,
        "aggregates": report.aggregates,
        "events": report.events,
        "chain_start": report.chain_start,
        "chained_events": report.chained_events,
        "unchained_aggregates": [c.originator_id for c in report.unchained],
        "partially_chained": [
            {"aggregate_id": c.originator_id, "chained_from": c.chained_from}
            for c in report.partial
        ],
        "problems": [
            {
                "aggregate_id": p.originator_id,
                "version": p.version,
                "kind": p.kind,
                "message": p.message,
            }
            for p in report.problems
        ],
    }


def summary(record: dict[str, Any]) -> str:
    """The counts, and from which event position on every event must be chained."""
    start = record["chain_start"]
    since = "" if start is None else f" (every event after position {start} must be)"
    return (
        f"{record['aggregates']} aggregates, {record['events']} events, "
        f"{record['chained_events']} chained{since}"
    )


def print_report(record: dict[str, Any]) -> None:
    """The report for a reader; on a pipe every aggregate id is listed in full."""
    out = console()
    unchained = record["unchained_aggregates"]
    out.print(summary(record))
    if unchained:
        shown = unchained[:SHOWN_UNCHAINED] if out.is_terminal else unchained
        listed = ", ".join(cells(*shown)) + (" …" if len(shown) < len(unchained) else "")
        out.print(f"[yellow]{len(unchained)} aggregates predate the chain[/yellow]: {listed}")
    for item in record["partially_chained"]:
        out.print(
            f"[yellow]{escape_text(item['aggregate_id'])}[/yellow]: chained from version "
            f"{item['chained_from']}, earlier versions predate the chain"
        )
    if record["ok"]:
        out.print("[green]log intact[/green]: every chained event matches its hash")
        return
    table = Table(title="[red]the log was tampered with[/red]")
    for column in ("aggregate", "version", "kind", "what"):
        table.add_column(column, overflow="fold")
    for problem in record["problems"]:
        table.add_row(
            *cells(problem["aggregate_id"], problem["version"], problem["kind"], problem["message"])
        )
    out.print(table)


def verify_log(args: argparse.Namespace) -> int:
    """Exit 0 when intact (unchained history allowed), 1 when tampered with, 2 if unchecked."""
    try:
        with open_store() as app:
            report = check_log(app, show_progress=not args.json and sys.stderr.isatty())
    except RegflowError as exc:
        say(exc.message)
        return 2
    record = report_record(report)
    if args.json:
        write_json(record)
    else:
        print_report(record)
    return 0 if report.ok else 1


COMMANDS = (
    Command(
        "verify-log",
        "check the per-aggregate hash chain: detects edited, reordered or deleted events, "
        "except an aggregate's newest events deleted with their chain entries",
        verify_log,
        description="Recompute every stored event's hash from its stored bytes and its "
        "predecessor's hash. Detects an event edited, swapped, moved or deleted (with or "
        "without its chain entry), and an event stored after the chain began without a chain "
        "entry. It cannot detect an aggregate's newest events deleted together with their "
        "chain entries: what remains is a consistent, shorter chain (`regflow replay --verify` "
        "catches that while the read models still hold those events). Exit 0 when intact "
        "(events stored before the chain began are reported as unchained), 1 when tampered "
        "with, 2 when the log could not be checked.",
        arguments=(json_flag("one JSON document instead of tables"),),
    ),
)
