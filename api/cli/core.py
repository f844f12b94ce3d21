"""`regflow version` and `regflow check-db`."""

from __future__ import annotations

import argparse
import json
from importlib.metadata import PackageNotFoundError, version

from api.cli.commands import Command, json_flag
from api.cli.failures import store_kind, store_name
from api.cli.output import console, escape_text
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations


def regflow_version() -> str:
    try:
        return version("regflow")
    except PackageNotFoundError:
        return "0+unknown"


def print_version(args: argparse.Namespace) -> int:
    shown = f"regflow {regflow_version()}"
    print(json.dumps({"version": regflow_version(), "text": shown}) if args.json else shown)
    return 0


def check_db(args: argparse.Namespace) -> int:
    """Connect, create tables if missing, and say what the store holds."""
    settings = Settings()
    app = Registrations(settings)
    try:
        head = app.recorder.max_notification_id() or 0
    finally:
        app.close()
    if args.json:
        record = {
            "ok": True,
            "store": store_kind(settings),
            "location": settings.data_location,
            "events": head,
        }
        print(json.dumps(record))
        return 0
    out = console()
    out.print(f"[green]ok[/green] {escape_text(store_name(settings))}")
    out.print(f"events stored: {head}")
    return 0


COMMANDS = (
    Command(
        "version",
        "print regflow's version",
        print_version,
        arguments=(json_flag("one JSON document: the version, and the line printed without"),),
    ),
    Command(
        "check-db",
        "connect to the store, create its tables, and report on it",
        check_db,
        arguments=(json_flag("one JSON document instead of text"),),
    ),
)
