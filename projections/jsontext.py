"""JSON text for the views and the API: orjson, with the standard library beyond its limits
(`loads` reads integers beyond 64 bits exactly: see `infrastructure.exact_json`)."""

from __future__ import annotations

from typing import Any

import orjson

from infrastructure import exact_json
from infrastructure.exact_json import loads as loads


def dumps(value: Any) -> str:
    """Compact JSON text; UUIDs, datetimes (ISO 8601) and enums are written as strings."""
    return exact_json.dumps(value, orjson.OPT_NON_STR_KEYS).decode()
