"""The header row of a CSV upload: which column each title names, and the titles refused.

`name`, `external_id` and `execution_config` are matched whatever their case and gaps, as a
spreadsheet titles them (`Name`, `External ID`). Any column with a dot is a path into the config
(`account.email`, `payment.enabled`, or the same with an `execution_config.` prefix); two
columns that name one field (`account.email` and `execution_config.account.email`, or `menu.id`
and `menu.id.x`) are refused naming the columns. Header cells are trimmed: blanks at a title's
ends and around a path's dots are dropped (` account . email ` is `account.email`), so two
titles that differ only there name one column, refused as twice. A header cell must read as
what it names: one holding a control or invisible character (a zero-width space), one that
shows nothing, a path with an empty part (`.account`) and a path deeper than a config may nest
(MAX_NESTING parts) are refused naming the column's position.
"""

from __future__ import annotations

import re
from typing import Any

from domain.exceptions import InvalidInput
from domain.limits import MAX_NESTING, hidden_characters, readable

CONFIG = "execution_config"
KNOWN_COLUMNS = frozenset({"name", "external_id", CONFIG})
_TITLE_GAPS = re.compile(r"[\s-]+")
SHOWN_TITLE = 60
"""Characters of a header cell an error quotes (a path may be thousands long)."""


def config_path(column: str) -> list[str]:
    """The config path a dotted column names (its parts as the header gives them, trimmed)."""
    return column.removeprefix(CONFIG + ".").split(".")


def _column(title: str) -> str:
    """A header cell as a column: one of the known columns whatever its case and gaps, else
    as written with blanks trimmed from its ends and around a path's dots (a path into the
    config keeps its case)."""
    stripped = title.strip()
    folded = _TITLE_GAPS.sub("_", stripped.casefold())
    if folded in KNOWN_COLUMNS:
        return folded
    return ".".join(part.strip() for part in stripped.split(".")) if "." in stripped else stripped


def _overlaps(header: list[str]) -> list[str]:
    """Dotted columns that name one config field twice, or a field inside another's value
    (`account.email` beside `execution_config.account.email`, `menu` paths `menu.id` and
    `menu.id.x`): the row could only keep one of them."""
    paths = sorted((config_path(c), c) for c in header if "." in c)
    errors: list[str] = []
    for index, (path, column) in enumerate(paths):
        for inner, other in paths[index + 1 :]:
            if inner[: len(path)] != path:
                break  # sorted: the paths inside this one come right after it
            errors.append(f"{column} and {other}: both give {'.'.join(path)}")
    return errors


def _shown(title: str) -> str:
    """A header cell as an error quotes it: its hidden characters as code points, cut short."""
    marked = "".join(f"<{h[0]}>" if (h := hidden_characters(c)) else c for c in title)
    return marked if len(marked) <= SHOWN_TITLE else marked[:SHOWN_TITLE] + "..."


def _unreadable(titles: list[str]) -> list[str]:
    """Header cells (trimmed) that do not read as what they name, by position: one holding a
    control or an invisible character (a zero-width space would make a config key that looks
    like `account` and is not), or one whose title (a path's part) shows nothing: blank,
    blanks only, or marks with nothing to mark."""
    errors = []
    for number, title in enumerate(titles, start=1):
        where = f"row 1: column {number} ({_shown(title)})"
        parts = [p for p in title.split(".") if p.strip()]
        if hidden := hidden_characters(title):
            errors.append(f"{where}: holds characters that do not show ({', '.join(hidden)})")
        elif not title or not all(readable(part) for part in parts):
            errors.append(f"{where}: a title that shows nothing")
    return errors


def _bad_paths(header: list[str]) -> tuple[list[str], list[str]]:
    """Dotted columns that are no path into the config (one with an empty part: `.account`,
    `account.`, `a..b`), and those nested deeper than a config may be, by position."""
    empty: list[str] = []
    deep: list[str] = []
    for number, column in enumerate(header, start=1):
        path = config_path(column) if "." in column else []
        where = f"row 1: column {number} ({_shown(column)})"
        if "" in path:
            empty.append(f"{where}: an empty part; a dotted column is a path (`account.email`)")
        elif len(path) > MAX_NESTING:
            deep.append(f"{where}: {len(path)} parts; a config nests at most {MAX_NESTING} levels")
    return empty, deep


def read_header(reader: Any) -> list[str]:
    """The columns the CSV's first row names; InvalidInput when they cannot be read as written."""
    header = [_column(c) for c in next(reader, [])]
    if unreadable := _unreadable(header):
        raise InvalidInput("The CSV header has titles that cannot be read as written", unreadable)
    if "name" not in header:
        raise InvalidInput("The CSV needs a header row with a `name` column", ["row 1: no name"])
    if duplicates := sorted({c for c in header if header.count(c) > 1}):
        named = ", ".join(duplicates)
        raise InvalidInput("The CSV header names a column twice", [f"row 1: {named}"])
    empty, deep = _bad_paths(header)
    if empty:
        raise InvalidInput("The CSV header has a dotted column with an empty part", empty)
    if deep:
        raise InvalidInput("The CSV header has a path deeper than a config may nest", deep)
    if overlaps := _overlaps(header):
        raise InvalidInput(
            "The CSV header names a config field in two columns", [f"row 1: {o}" for o in overlaps]
        )
    return header
