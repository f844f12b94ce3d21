"""Values put in one segment of a registration API path (`/menus/{menuId}/...`): which can be.

Percent-encoding carries any text as one segment except the dot segments `.` and `..`: URL
parsers (yarl, WHATWG, RFC 3986 normalisers) remove them, and read `%2E` as a dot first, so a
call would go to another endpoint. A text UTF-8 cannot encode (a lone surrogate) has no
percent-encoding at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DOT_SEGMENTS = frozenset({".", ".."})


def segment_error(value: str) -> str | None:
    """Why `value` cannot reach a server as one path segment naming it, or None if it can."""
    if value in DOT_SEGMENTS:
        return f"{value!r} is a dot segment: a URL would drop it rather than name it"
    if value == "":
        return "an empty value names no path segment"
    if any("\ud800" <= c <= "\udfff" for c in value):
        return f"{value!r} is not text (a lone surrogate) and has no URL form"
    return None


def path_value_errors(config: Mapping[str, Any]) -> list[str]:
    """Each id of a new execution_config sent in an API path that no path can carry, by field."""
    # Only new configs: a stored job keeps its id, and its call fails naming it instead.
    menu = config.get("menu")
    menu_id = menu.get("menu_id") if isinstance(menu, Mapping) else None
    if isinstance(menu_id, str) and menu_id and (error := segment_error(menu_id)):
        return [f"menu.menu_id: must be one URL path segment: {error}"]
    return []
