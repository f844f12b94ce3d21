"""Limits on the shape of what callers send: free-form JSON may nest only so deep."""

from __future__ import annotations

from typing import Any

MAX_NESTING = 32
"""Levels of objects and lists an execution_config or a manual result may hold."""


def depth_of(value: Any) -> int:
    """How many levels of dicts and lists `value` nests (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list | tuple):
            children = current
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def nesting_error(value: Any, where: str, limit: int = MAX_NESTING) -> str | None:
    """A message naming `where` when `value` nests deeper than `limit`, else None."""
    if depth_of(value) > limit:
        return f"{where}: nested deeper than {limit} levels"
    return None
