"""`regflow replay --verify` and `regflow rebuild-projections`: the read models against the log."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.cli.audit import open_store, write_json
from api.cli.commands import Command, arg, json_flag
from api.cli.ids import full_id
from api.cli.output import cells, console
from projections.catalogue import fold_versions
from projections.fold_versions import ViewsRefused
from projections.offline.rebuild import Difference, rebuild_all, verify
from projections.offline.verify import verified_span

DOWNGRADE = (
    "give --downgrade to rebuild them with this release's folds anyway (to roll back: stop"
    " the newer release's processes first, or they rebuild theirs again)"
)


def no_drift(span: tuple[int, int] | None) -> str:
    """What a verify that found no difference may say, given how far it reached in the log."""
    if span is None or span[0] >= span[1]:
        return "no drift: the read models equal a rebuild from the log"
    position, head = span
    return (
        f"no drift up to position {position}: the read models are {head - position} events "
        f"behind the log's head ({head}), which were not compared; a running `serve` applies "
        "them, `regflow rebuild-projections` builds them now"
    )


def shown(value: object) -> str:
    """A differing value as typed: text in quotes as it is stored (the table's cells escape it
    once, as every table does), anything else as Python writes it."""
    return f"'{value}'" if isinstance(value, str) else repr(value)


def print_differences(differences: list[Difference], span: tuple[int, int] | None) -> None:
    out = console()
    if not differences:
        out.print("[green]no drift[/green]" + no_drift(span).removeprefix("no drift"))
        return
    table = Table(title=f"[red]{len(differences)} differences between live views and the log[/red]")
    for column in ("view", "row", "field", "live", "rebuilt"):
        table.add_column(column, overflow="fold")
    for d in differences:
        table.add_row(*cells(d.view, d.key, d.field, shown(d.live), shown(d.rebuilt)))
    out.print(table)


def replay(args: argparse.Namespace) -> int:
    """Exit 0 when the views match the log, 1 on drift or an unknown job, 2 when the check could
    not run."""
    if not args.verify:
        print(
            "regflow replay --verify rebuilds the read models (job progress, batches, timelines)"
            " from the event log in scratch tables and compares them with the live ones;"
            " it changes nothing. Add --job JOB for one job, --json for JSON lines."
            " `regflow rebuild-projections` replaces the live read models with a rebuild.",
            file=sys.stderr,
        )
        return 2
    with open_store() as app:
        if args.job:
            args.job = full_id(app, "job", args.job)
            app.job(args.job)
        differences = verify(app.settings, app, args.job)
        span = None if args.job else verified_span(app.settings, app)
    if args.json:
        for difference in differences:
            write_json(asdict(difference))
        if not differences:
            print(no_drift(span), file=sys.stderr)
    else:
        print_differences(differences, span)
    return 1 if differences else 0


def rebuild(args: argparse.Namespace) -> int:
    """Rebuild every view from the whole log with this release's folds, showing progress on
    standard error; views built by a newer release's folds only with --downgrade (exit 2)."""
    columns = (
        TextColumn("rebuilding views"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with (
        open_store() as app,
        Progress(*columns, console=console(stderr=True), disable=args.json) as bar,
    ):
        task = bar.add_task("rebuild", total=None)
        try:
            position = rebuild_all(
                app.settings,
                app,
                lambda at, stop: bar.update(task, completed=at, total=stop),
                downgrade=args.downgrade,
            )
        except ViewsRefused as refusal:
            raise ViewsRefused(f"{refusal.message}; {DOWNGRADE}") from None
    versions = fold_versions()
    if args.json:
        write_json({"rebuilt_to_position": position, "fold_versions": versions})
    else:
        built = ", ".join(f"{name} {version}" for name, version in versions.items())
        console().print(
            f"[green]rebuilt[/green] every view up to log position {position}"
            f" (fold versions: {built})"
        )
    return 0


COMMANDS = (
    Command(
        "replay",
        "rebuild the read models in scratch tables and diff them against the live ones",
        replay,
        description="With --verify: rebuild every read model (or one job's) from the log and "
        "print each difference from the live views. Exit 0 when they agree, 1 on drift or when "
        "--job names no job, 2 when the check could not run.",
        arguments=(
            arg("--verify", action="store_true", help="diff a rebuild against the live views"),
            arg("--job", metavar="JOB", help="only this job's rows"),
            json_flag("JSON lines, one per difference"),
        ),
    ),
    Command(
        "rebuild-projections",
        "drop and rebuild every read model from the log, with a progress bar",
        rebuild,
        description="Rebuild every view from the whole log into scratch tables with this "
        "release's folds and swap them in, recording the folds' versions; running projection "
        "runners carry on from the rebuilt position. Views built by a newer release's folds "
        "are left alone (exit 2) unless --downgrade is given.",
        arguments=(
            arg(
                "--downgrade",
                action="store_true",
                help="rebuild views built by a newer release's folds with this release's "
                "(rolling back: stop the newer release's processes first)",
            ),
            json_flag("print the result as JSON"),
        ),
    ),
)
