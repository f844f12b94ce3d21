"""Each driver's own way of marking a statement's parameters, for SQL written once with `?`.

A statement is read as SQL, not as text: a `?` inside a string constant ('...', E'...', $$...$$),
a quoted identifier or a comment belongs to it and is never a parameter; only a `?` standing as a
token is. SQLite takes such statements as they are (its style is `?`). psycopg's style is `%s`,
and it reads every `%` of a statement given parameters as a marker, so its style marks the
parameter tokens `%s` and doubles every other `%`, wherever it stands.

PostgreSQL's jsonb operators `?`, `?|` and `?&` cannot be written in these statements: use the
functions `jsonb_exists`, `jsonb_exists_any` and `jsonb_exists_all`. Block comments do not nest
here (as on SQLite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# One SQL token of interest per match; what no alternative names is plain text.
_TOKEN = re.compile(
    r"""
      (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*.*?\*/)
    | (?P<escape_string>[Ee]'(?:[^'\\]|\\.|'')*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<identifier>"(?:[^"]|"")*")
    | (?P<dollar_string>\$(?P<tag>[A-Za-z_][A-Za-z_0-9]*|)\$.*?\$(?P=tag)\$)
    | (?P<param>\?)
    | (?P<word>[A-Za-z_0-9$]+)
    | (?P<other>[^-/'"?$A-Za-z_0-9]+|.)
    """,
    re.VERBOSE | re.DOTALL,
)


def split_parameters(statement: str) -> list[str]:
    """The statement's text between its parameter tokens (one more piece than parameters).

    An unterminated string, identifier or comment is plain text to its end, so nothing in it
    counts as a parameter; the database refuses such a statement anyway.
    """
    pieces: list[str] = []
    start = 0
    for token in _TOKEN.finditer(statement):
        if token.lastgroup == "param":
            pieces.append(statement[start : token.start()])
            start = token.end()
    pieces.append(statement[start:])
    return pieces


@dataclass(frozen=True)
class ParamStyle:
    """How one driver marks parameters (`marker`) and what it needs done to the other text."""

    name: str
    marker: str
    escape_percent: bool

    def sql(self, statement: str) -> str:
        """`statement` (parameters written `?`) as this driver takes it with parameters."""
        return _render(self, statement)


@lru_cache(maxsize=4096)
def _render(style: ParamStyle, statement: str) -> str:
    pieces = split_parameters(statement)
    if style.escape_percent:
        pieces = [piece.replace("%", "%%") for piece in pieces]
    return style.marker.join(pieces)


QMARK = ParamStyle("qmark", "?", escape_percent=False)  # sqlite3
FORMAT = ParamStyle("format", "%s", escape_percent=True)  # psycopg


def param_style(is_postgres: bool) -> ParamStyle:
    """The style of the driver regflow uses for the database."""
    return FORMAT if is_postgres else QMARK
