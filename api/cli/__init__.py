"""The `regflow` command line: each module of this package declares its subcommands."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from api.cli.output import escape_control
from domain.exceptions import RegflowError
from infrastructure import tracing
from infrastructure.allocator import return_freed_memory
from infrastructure.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand that a module of `api.cli` declares in `COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="regflow", description="Event-sourced Step 6 registration: run, repair, audit."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for command in getattr(module, "COMMANDS", ()):
            command.add_to(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; its return value is the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if args.runs_until_stopped:
        return_freed_memory()
    try:
        tracing.configure()
    except tracing.TracingUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return quiet_on_closed_pipe()
    except RegflowError as exc:
        print(f"error: {escape_control(exc.message)}", file=sys.stderr)
        for detail in exc.errors if exc.errors != [exc.message] else []:
            print(f"  - {escape_control(detail)}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        return configuration_refused(exc)
    except KeyboardInterrupt:
        return 130


def configuration_refused(exc: ValidationError) -> int:
    """One line per setting the environment got wrong (never its value: it may be a secret)."""
    print("error: the configuration is not valid:", file=sys.stderr)
    for error in exc.errors():
        name = "REGFLOW_" + "_".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        if not message.startswith(name):
            message = f"{name}: {message}"
        print(f"  - {escape_control(message)}", file=sys.stderr)
    return 2


def quiet_on_closed_pipe() -> int:
    """The reader went away (`regflow events J --json | head -1`): end quietly, as `yes` does.

    Standard output is pointed at /dev/null so the interpreter's last flush cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
