"""How every `regflow` command writes: one console factory, and stored text shown escaped
with the credentials in it masked.

Stored text (an actor's name, a reason, an error the registration API sent) is shown, never
interpreted: control characters (ESC sequences, OSC 8 links, carriage returns, newlines that
would forge a table line, bidirectional overrides: every character Python deems not
printable) become visible escapes, and `rich` markup
(`[link=...]`, `[bold]`) is shown as typed. When standard output is not a terminal, nothing
wraps or cuts a value: tables are as wide as their content, so `regflow ... | grep ID` finds it.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table

from domain.secrets import scrub_text
from infrastructure.printable import escape_control

SHORT_ID = 8
"""Characters of an id a table on a terminal shows: a prefix every command takes."""
PIPE_WIDTH = 100_000
"""Columns a console writing to a pipe or file pretends to have: wide enough for any row."""


def is_terminal(stream: TextIO | None = None) -> bool:
    """Whether `stream` (standard output by default) is a terminal."""
    stream = stream or sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class CommandConsole(Console):
    """A `rich` console that leaves a closed pipe to `regflow`'s one way of ending on it."""

    def on_broken_pipe(self) -> None:
        # rich's own way exits with 1, which some commands give for "not found" or "tampered".
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def console(stderr: bool = False, file: TextIO | None = None) -> Console:
    """A console for a command's output: full width on a terminal, unbounded on a pipe."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    terminal = is_terminal(stream)
    return CommandConsole(
        file=stream,
        width=None if terminal else PIPE_WIDTH,
        soft_wrap=not terminal,
        highlight=False,
        emoji=False,
    )


def escape_text(value: Any) -> str:
    """`value` as text safe to print through `rich`: masked as every shown text is (credentials,
    values given to secret names), control characters and markup escaped."""
    return escape_markup(escape_control(scrub_text("" if value is None else str(value))))


def escape_masked(value: Any) -> str:
    """Text masked already by the rules of what it holds (an event's data, a job's context),
    safe to print through `rich`: control characters and markup escaped. Masked again as free
    text, its own field names (`"idempotency_key":`) would be read as secrets' names."""
    return escape_markup(escape_control(value))


def cells(*values: Any) -> list[str]:
    """Table cells from stored values, each escaped."""
    return [escape_text(v) for v in values]


def add_id_column(table: Table, header: str) -> None:
    """A column of ids, or their `SHORT_ID` prefixes: never cut below what a command takes,
    however narrow the terminal (the other columns wrap instead)."""
    table.add_column(header, min_width=SHORT_ID, no_wrap=True)
