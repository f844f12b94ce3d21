"""JSON text for the views and the API: orjson, with the standard library beyond its limits."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text; UUIDs, datetimes (ISO 8601) and enums are written as strings."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value, default=str, separators=(",", ":"))


def loads(text: str) -> Any:
    """JSON text as Python values (numbers beyond 64 bits too)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
