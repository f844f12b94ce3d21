"""JSON read as it was sent: an object naming a key more than once is marked, not read as its
last value, and `unfaithful` names where a decoded value cannot be taken as sent. The API's
bodies and uploads and the legacy import read JSON this way."""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any

from domain.field_paths import child_path

REPEATED_KEY = "key given more than once"
NOT_FINITE = "not a finite number"


class _Repeated(dict[str, Any]):
    """A decoded JSON object that named some of its keys more than once (`repeated`): which
    of the values was meant is unknown, so it is refused rather than read as the last."""

    repeated: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    marked = _Repeated(found)
    marked.repeated = [k for k, n in Counter(k for k, _ in pairs).items() if n > 1]
    return marked


class NumberTooLong(ValueError):
    """An integer with more digits than Python reads (4,300 by default): valid JSON that
    cannot be read, said as such rather than as JSON that is not."""

    def __init__(self) -> None:
        super().__init__(f"a number of more than {sys.get_int_max_str_digits()} digits")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise NumberTooLong() from None


def loads(text: bytes | str) -> Any:
    """JSON as every body and upload of the API is read: `json.loads`, with objects that
    repeat a key marked for `unfaithful` to name. ValueError or RecursionError when it is not
    JSON at all; NumberTooLong (a ValueError) when an integer is too long to read."""
    return json.loads(text, object_pairs_hook=_object, parse_int=_integer)


def unfaithful(value: Any, path: str = "") -> list[str]:
    """Where a decoded JSON value cannot be taken as sent, each named from `path` as field
    errors are (`path` empty: from the top, itself `body`): a key an object names more than
    once (marked by `loads`), and a number that is not finite (`NaN`, `Infinity`, and numbers
    past a double's range such as `1e999`, which Python's json reads but no store or answer
    can hold: they would come back as null). An object before what it holds; no recursion."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [f"{path or 'body'}: {NOT_FINITE}"]
    errors: list[str] = []
    stack: list[tuple[Any, str]] = [(value, path)] if isinstance(value, dict | list) else []
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            if isinstance(node, _Repeated):
                errors += [f"{child_path(where, k)}: {REPEATED_KEY}" for k in node.repeated]
            items: Iterable[tuple[str | int, Any]] = node.items()
        else:
            items = enumerate(node)
        below: list[tuple[Any, str]] = []
        for key, item in items:
            kind = type(item)
            if kind is float and not math.isfinite(item):
                errors.append(f"{_child(where, key)}: {NOT_FINITE}")
            elif kind is dict or kind is list or kind is _Repeated:
                below.append((item, _child(where, key)))
        stack.extend(reversed(below))
    return errors


def _child(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else child_path(path, key)


UNFAITHFUL_MESSAGES = {
    REPEATED_KEY: "A JSON object names a key more than once",
    NOT_FINITE: "Numbers must be finite: NaN, Infinity and out-of-range numbers are refused",
}


def repeated_here(value: Any) -> list[str]:
    """The keys a decoded JSON object named more than once (not those of what it holds)."""
    return list(value.repeated) if isinstance(value, _Repeated) else []


def repeated_keys(value: Any, path: str = "") -> list[str]:
    """The path from `path` of each key a decoded JSON value repeats, as `unfaithful` finds."""
    suffix = f": {REPEATED_KEY}"
    return [e.removesuffix(suffix) for e in unfaithful(value, path) if e.endswith(suffix)]
