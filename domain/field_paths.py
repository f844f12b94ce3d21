"""A field of a request as errors name it: restaurants[2].execution_config.skip[0]."""

from __future__ import annotations

from collections.abc import Iterable


def field_path(parts: Iterable[str | int]) -> str:
    """`parts` from the top: names joined by dots, positions in a list in brackets."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = child_path(path, part)
    return path


def child_path(path: str, name: str) -> str:
    """The field `name` of the object at `path` (`path` empty: the top)."""
    return f"{path}.{name}" if path else name
