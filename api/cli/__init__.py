"""The `regflow` command line: each module of this package declares its subcommands."""

from __future__ import annotations

import argparse
import importlib
import io
import os
import pkgutil
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from api.cli.commands import EXIT_CODES
from api.cli.failures import COULD_NOT_RUN, UNUSABLE, refused
from domain.exceptions import RegflowError
from infrastructure import tracing
from infrastructure.allocator import return_freed_memory

CLOSED_PIPE = 128 + signal.SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand that a module of `api.cli` declares in `COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="regflow",
        description="Event-sourced Step 6 registration: run, repair, audit.",
        epilog=EXIT_CODES,
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
        return COULD_NOT_RUN
    if args.runs_until_stopped:
        return_freed_memory()
    try:
        tracing.configure()
    except tracing.TracingUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return COULD_NOT_RUN
    buffered_stdout()
    try:
        code = run(args)
        sys.stdout.flush()  # inside the try: a reader gone away is noticed here, not at exit
    except BrokenPipeError:
        return quiet_on_closed_pipe()
    return code


def run(args: argparse.Namespace) -> int:
    """The handler's exit code; a refusal, or a store or file it cannot use, said in one line."""
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        return 130
    except (RegflowError, ValidationError, *UNUSABLE) as exc:
        code = refused(exc)
        if code is None:
            raise
        return code


def buffered_stdout() -> None:
    """Standard output through a buffer, line by line, even under PYTHONUNBUFFERED: unbuffered,
    a write that a closed pipe takes only in part is cut short without an error, and the
    command would end as if its reader had read everything."""
    if isinstance(getattr(sys.stdout, "buffer", None), io.FileIO):
        out = sys.stdout
        sys.stdout = open(  # noqa: SIM115 - standard output for the rest of the process
            out.fileno(), "w", buffering=1, encoding=out.encoding, errors=out.errors, closefd=False
        )


def quiet_on_closed_pipe() -> int:
    """The reader went away (`regflow events J --json | head -1`): end quietly with the code a
    shell reports for a program that SIGPIPE ended (`yes | head -1`), whatever the command was
    doing, so that no command's own code (1: not found, tampered) is said by mistake.

    Python ignores SIGPIPE, so a write to the closed pipe raises BrokenPipeError instead;
    standard output is pointed at /dev/null so the interpreter's last flush cannot fail again.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return CLOSED_PIPE
