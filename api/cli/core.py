"""`regflow version` and `regflow check-db`."""

from __future__ import annotations

import argparse
import json
from importlib.metadata import PackageNotFoundError, version

from api.cli.commands import Command, json_flag
from api.cli.output import console, escape_text
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations


def regflow_version() -> str:
    try:
        return version("regflow")
    except PackageNotFoundError:
        return "0+unknown"


def print_version(_: argparse.Namespace) -> int:
    print(f"regflow {regflow_version()}")
    return 0


def check_db(args: argparse.Namespace) -> int:
    """Connect, create tables if missing, and say what the store holds."""
    settings = Settings()
    app = Registrations(settings)
    try:
        head = app.recorder.max_notification_id() or 0
        kind = "PostgreSQL" if settings.is_postgres else "SQLite"
    finally:
        app.close()
    if args.json:
        record = {"ok": True, "store": kind, "location": settings.data_location, "events": head}
        print(json.dumps(record))
        return 0
    out = console()
    out.print(f"[green]ok[/green] {kind} store at {escape_text(settings.data_location)}")
    out.print(f"events stored: {head}")
    return 0


COMMANDS = (
    Command("version", "print regflow's version", print_version),
    Command(
        "check-db",
        "connect to the store, create its tables, and report on it",
        check_db,
        arguments=(json_flag("one JSON document instead of text"),),
    ),
)
