"""Values an operator writes as text, a query parameter or a command-line argument: read one way
wherever they are written, so the API and the CLI take and refuse the same."""

from __future__ import annotations

from datetime import UTC, datetime

LARGEST_STORED = 2**63 - 1
"""The largest whole number the stores hold (SQLite's INTEGER, PostgreSQL's bigint)."""


def moment_of(text: str) -> datetime:
    """An ISO 8601 time in any form `datetime.fromisoformat` reads (extended or basic, `T` or a
    space, a week date); one without an offset is UTC. ValueError for anything else, a Unix
    time included."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:  # its own words quote Python's (`datetime.timedelta(days=4, ...)`)
        raise ValueError(f"not an ISO 8601 time with an offset within a day: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def whole_number(text: str) -> int:
    """Decimal digits, after a minus sign if negative; no plus sign, space, underscore or
    fraction (`1.0`, `+1`, `1_000` are not written whole numbers). ValueError otherwise; the
    caller says which numbers it takes."""
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"not a whole number: {text!r}")
    return int(text)
