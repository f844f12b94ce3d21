"""JSON text fast and exact: orjson, except where it would write or read a value otherwise.

orjson reads integers beyond 64 bits as floats, silently; text that may hold one (an integer
literal of 19 digits or more, or digits as long inside a string) is read by the standard
library, as is anything orjson refuses."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_MAYBE_BEYOND_64_BITS = re.compile(r"\d{19}")
_MAYBE_BEYOND_64_BITS_IN_BYTES = re.compile(rb"\d{19}")


def loads(text: str | bytes) -> Any:
    """JSON text as Python values, integers beyond 64 bits as the integers they are."""
    long_digits = (
        _MAYBE_BEYOND_64_BITS.search(text)
        if isinstance(text, str)
        else _MAYBE_BEYOND_64_BITS_IN_BYTES.search(text)
    )
    if long_digits:
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps(value: Any, option: int = 0) -> bytes:
    """Compact JSON; objects it does not know (UUIDs, times) as strings; `option`: orjson's
    (OPT_NON_STR_KEYS, say). What orjson cannot write (an integer beyond 64 bits, a lone
    surrogate) is written by the standard library."""
    try:
        return orjson.dumps(value, default=str, option=option)
    except TypeError:
        return json.dumps(value, default=str, separators=(",", ":")).encode()
