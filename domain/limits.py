"""Limits on the shape of what callers send: free-form JSON may nest only so deep."""

from __future__ import annotations

from typing import Any

MAX_NESTING = 32
"""Levels of objects and lists an execution_config or a manual result may hold."""


_CONTAINERS = (dict, list, tuple)


def depth_of(value: Any, limit: int | None = None) -> int:
    """How many levels of dicts and lists `value` nests (a scalar is 0), without recursion.

    Walks level by level; with `limit`, stops as soon as the depth passes it.
    """
    depth = 0
    level = [value] if isinstance(value, _CONTAINERS) else []
    while level and (limit is None or depth <= limit):
        depth += 1
        below: list[Any] = []
        for container in level:
            below.extend(container.values() if isinstance(container, dict) else container)
        level = [child for child in below if isinstance(child, _CONTAINERS)]
    return depth


def nesting_error(value: Any, where: str, limit: int = MAX_NESTING) -> str | None:
    """A message naming `where` when `value` nests deeper than `limit`, else None."""
    if depth_of(value, limit) > limit:
        return f"{where}: nested deeper than {limit} levels"
    return None
