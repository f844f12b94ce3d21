"""How a module of the CLI declares its subcommands: a table of names, texts, arguments and
handlers, which `build_parser` adds to the `regflow` parser."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from api.cli.values import given_text
from infrastructure.logs import configure_logging_first, logs_json_lines

Handler = Callable[[argparse.Namespace], int]
EXIT_CODES = (
    "Exit codes beside a command's own: 2 when it could not run (bad arguments or settings, a "
    "store that cannot be opened or reached, a file that cannot be read or written), 130 when "
    "interrupted, 141 when the reader of its output went away."
)


@dataclass(frozen=True)
class Arg:
    """One argument: its names and the options `add_argument` takes."""

    flags: tuple[str, ...]
    options: dict[str, Any]

    def add_to(self, parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup) -> None:
        parser.add_argument(*self.flags, **self.options)


TAKE_A_VALUE = ("store", "append", "extend")


def arg(*flags: str, **options: Any) -> Arg:
    """An argument, written as `add_argument` would be called; one that takes text with no
    type of its own takes it as `given_text` (never empty or blank)."""
    if options.get("action", "store") in TAKE_A_VALUE and "type" not in options:
        options = {**options, "type": given_text}
    return Arg(flags, options)


def json_flag(help: str) -> Arg:
    """`--json`, with what it prints instead."""
    return arg("--json", action="store_true", help=help)


@dataclass(frozen=True)
class OneOf:
    """Arguments of which at most one may be given (exactly one when required)."""

    arguments: tuple[Arg, ...]
    required: bool = False

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        group = parser.add_mutually_exclusive_group(required=self.required)
        for argument in self.arguments:
            argument.add_to(group)


class CommandParser(argparse.ArgumentParser):
    """A subcommand's parser. One whose lines are the log's (`serve`, `work`: `writes_log`)
    says a usage error as the log says things, one JSON line with `REGFLOW_LOG_FORMAT=json`."""

    writes_log = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logging_commands: set[str] = set()  # the root's: commands whose lines are the log's

    def error(self, message: str) -> NoReturn:
        if self.writes_log:
            configure_logging_first()
            if logs_json_lines():
                logging.getLogger("regflow").error("%s: error: %s", self.prog, message)
                self.exit(2)
        super().error(message)


@dataclass(frozen=True)
class Command:
    """One subcommand; with `actions`, a group whose actions are subcommands of their own."""

    name: str
    help: str
    handler: Handler | None = None
    arguments: tuple[Arg | OneOf, ...] = ()
    description: str | None = None
    actions: tuple[Command, ...] = field(default=())
    runs_until_stopped: bool = False  # a server or worker: the allocator keeps little freed memory
    writes_log: bool = False  # its lines are the log's, usage errors included (`CommandParser`)

    def add_to(self, commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = commands.add_parser(
            self.name, help=self.help, description=self.description, epilog=EXIT_CODES
        )
        if isinstance(parser, CommandParser):
            parser.writes_log = self.writes_log
        for argument in self.arguments:
            argument.add_to(parser)
        if self.actions:
            actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
            for action in self.actions:
                action.add_to(actions)
        if self.handler is not None:
            parser.set_defaults(handler=self.handler, runs_until_stopped=self.runs_until_stopped)
