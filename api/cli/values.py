"""What an argument's value may be: argparse types that refuse, naming the flag, a value the
command could only misuse (a port past 65535, a limit of 0 or past what a store can count, a
timeout that has already passed, an organisation with no name)."""

from __future__ import annotations

import argparse
import math

from domain.limits import organisation_errors
from domain.written_values import LARGEST_STORED, whole_number

HIGHEST_PORT = 65535
MOST_LISTED = 1_000_000
"""The most rows a listing's --limit may ask for."""


def given_text(text: str) -> str:
    """A value given as text (an id, a name, a file, a filter): never empty or blank, which
    would otherwise read as not given at all (`export --batch "$UNSET"` exported every
    organisation's events)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("cannot be empty or blank")
    return text


def port_number(text: str) -> int:
    """A TCP port to listen on: 1 to 65535."""
    number = _whole(text, "a port")
    if not 1 <= number <= HIGHEST_PORT:
        raise argparse.ArgumentTypeError(f"a port is 1 to {HIGHEST_PORT}, not {text!r}")
    return number


def positive_count(text: str) -> int:
    """How many to list: 1 to MOST_LISTED."""
    number = _whole(text, "a whole number")
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text!r}")
    if number > MOST_LISTED:
        raise argparse.ArgumentTypeError(f"must be at most {MOST_LISTED}, not {text!r}")
    return number


def version_number(text: str) -> int:
    """An aggregate's version: 1 to the largest whole number a store holds."""
    number = _whole(text, "a version number")
    if not 1 <= number <= LARGEST_STORED:
        raise argparse.ArgumentTypeError(f"a version is 1 to {LARGEST_STORED}, not {text!r}")
    return number


def positive_seconds(text: str) -> float:
    """A length of time in seconds, more than 0."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text!r}")
    return seconds


def named_organisation(text: str) -> str:
    """An organisation id: not empty (which would mean no organisation), and text a call to
    the registration API can carry (see `organisation_errors`)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an organisation id cannot be empty")
    if errors := organisation_errors(text):
        raise argparse.ArgumentTypeError(errors[0].removeprefix("organisation: "))
    return text


def _whole(text: str, what: str) -> int:
    try:
        return whole_number(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
