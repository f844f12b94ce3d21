"""The `regflow` command line: each module of this package declares its subcommands."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from api.cli.commands import EXIT_CODES, CommandParser
from api.cli.failures import COULD_NOT_RUN, UNUSABLE, output_failed, refused
from api.cli.streams import (
    OutputFailed,
    command_streams,
    diagnostics_lost,
    quiet_on_closed_pipe,
)
from domain.exceptions import RegflowError
from infrastructure import tracing
from infrastructure.allocator import return_freed_memory


def build_parser() -> CommandParser:
    """The parser with every subcommand that a module of `api.cli` declares in `COMMANDS`."""
    parser = CommandParser(
        prog="regflow",
        description="Event-sourced Step 6 registration: run, repair, audit.",
        epilog=EXIT_CODES,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for command in getattr(module, "COMMANDS", ()):
            command.add_to(commands)
            if command.writes_log:
                parser.logging_commands.add(command.name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; its return value is the exit code. Whatever the command, output it
    cannot write (a full disk: exit 2) or whose reader went away (exit 141) ends it here, its
    output flushed before it returns, so that the interpreter's last flush cannot fail.
    Standard error that cannot be written never ends a command part way (`streams`)."""
    with command_streams():
        try:
            try:
                code = parsed_and_run(argv)
            except SystemExit:  # argparse's --help and usage errors: their text is flushed too
                flush_outputs()
                raise
            flush_outputs()
        except BrokenPipeError:
            return quiet_on_closed_pipe()
        except OutputFailed as exc:
            return output_failed(exc)
        # A refusal or a failure it could not say (standard error lost): one that could not
        # run, as when its answer cannot be written. A command that did its work keeps its 0.
        if code != 0 and diagnostics_lost():
            return COULD_NOT_RUN
    return code


def flush_outputs() -> None:
    """Write out what standard output and error still hold, while a failure can be said."""
    sys.stdout.flush()
    sys.stderr.flush()


def parsed_and_run(argv: Sequence[str] | None) -> int:
    """Parse the command line and run the subcommand it names."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    # an argument the command does not take is refused by this parser, not the command's
    parser.writes_log = bool(words) and words[0] in parser.logging_commands
    args = parser.parse_args(words)
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
    return run(args)


def run(args: argparse.Namespace) -> int:
    """The handler's exit code; a refusal, or a store or file it cannot use, said in one line."""
    try:
        return int(args.handler(args) or 0)
    except (BrokenPipeError, OutputFailed):
        raise
    except KeyboardInterrupt:
        return 130
    except (RegflowError, ValidationError, *UNUSABLE) as exc:
        code = refused(exc, as_json=getattr(args, "json", False))
        if code is None:
            raise
        return code
