"""`regflow version` and `regflow check-db`."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version

from rich.console import Console

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the core subcommands."""
    show = commands.add_parser("version", help="print regflow's version")
    show.set_defaults(handler=print_version)
    check = commands.add_parser(
        "check-db", help="connect to the store, create its tables, and report on it"
    )
    check.set_defaults(handler=check_db)


def regflow_version() -> str:
    try:
        return version("regflow")
    except PackageNotFoundError:
        return "0+unknown"


def print_version(_: argparse.Namespace) -> int:
    print(f"regflow {regflow_version()}")
    return 0


def check_db(_: argparse.Namespace) -> int:
    """Connect, create tables if missing, and say what the store holds."""
    settings = Settings()
    console = Console()
    app = Registrations(settings)
    try:
        head = app.recorder.max_notification_id() or 0
        kind = "PostgreSQL" if settings.is_postgres else "SQLite"
        console.print(f"[green]ok[/green] {kind} store at {settings.data_location}")
        console.print(f"events stored: {head}")
    finally:
        app.close()
    return 0
