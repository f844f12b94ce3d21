"""Which release's folds built the views' rows: each view declares the version of its fold (its
`fold_version`, bumped whenever what it writes changes), and the version its rows were built by
is stored beside its tracking row (NULL: built before versions were recorded, by a fold unknown).

Views of an older or unknown fold are rebuilt from the log by the process that runs them; views of
a newer fold are never written by an older release, whose process refuses to run them instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from domain.exceptions import RegflowError
from projections.schema import Schema

Rebuild = Callable[[Schema, Sequence[str]], int]
"""Rebuilds the named views of a schema from the log (scratch tables, then a swap), recording the
fold versions it built them with; returns the log position they were built to."""
Stored = Mapping[str, int | None]


class ViewsRefused(RegflowError):
    """This process does not run (or rebuild) these views: their rows were built by a newer
    release's folds, which it must not overwrite with its older ones, or it cannot rebuild them."""


def shown(version: int | None) -> str:
    """A fold version as the log says it: `unknown` for rows built before versions were kept."""
    return "unknown" if version is None else str(version)


def newer(stored: Stored, code: Mapping[str, int]) -> dict[str, int]:
    """The views whose rows were built by a newer fold than this code's, with that version."""
    return {
        name: found
        for name, version in code.items()
        if (found := stored.get(name)) is not None and found > version
    }


def outdated(stored: Stored, code: Mapping[str, int]) -> list[str]:
    """The views whose rows were built by an older or unknown fold than this code's."""
    return [
        name
        for name, version in code.items()
        if (found := stored.get(name)) is None or found < version
    ]


def refuse_newer(stored: Stored, code: Mapping[str, int], advice: str) -> None:
    """Raise ViewsRefused when any of these views was built by a newer fold than this code's."""
    found = newer(stored, code)
    if found:
        views = ", ".join(
            f"{n} (fold version {v}; this release's: {code[n]})" for n, v in found.items()
        )
        raise ViewsRefused(f"views built by a newer release's folds: {views}: {advice}")
