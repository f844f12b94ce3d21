"""The store's JSON transcoder: the library's, reading events with orjson.

Events are still written by the library's encoder, byte for byte. Reading parses with orjson
and then applies the library's own object hook to every object, innermost first, as its
decoder does. Text orjson would read differently is read by the library's decoder instead:
integers beyond 64 bits (orjson reads those as floats, so any float that large sends the
text back), and anything orjson refuses (NaN, Infinity, lone surrogates, deep nesting).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Transcoding

# orjson reads integers from -2**63 to 2**64 - 1 exactly and larger ones as floats.
_EXACT = 2.0**63


class _ReadAgain(Exception):
    """orjson's reading may differ from the library's: read the text with the library's."""


def _reviver(
    hook: Callable[[dict[str, Any]], Any], transcodings: dict[str, Transcoding]
) -> Callable[[Any], Any]:
    """A function applying `hook` to every object in a parsed document, innermost first.

    An object of a registered type whose data is a string (a time, an id) is decoded by its
    transcoding straight away, as `hook` would (a time by `datetime.fromisoformat`, as the
    library's `DatetimeAsISO` does)."""

    def in_dict(value: dict[str, Any]) -> Any:
        for key, item in value.items():
            kind = type(item)
            if kind is str:  # most values: one test
                continue
            if kind is dict:
                if not item:
                    continue
                if (
                    len(item) == 2
                    and type(name := item.get("_type_")) is str
                    and type(data := item.get("_data_")) is str
                ):
                    transcoding = transcodings.get(name)
                    if type(transcoding) is DatetimeAsISO:  # every event's timestamp
                        value[key] = datetime.fromisoformat(data)
                    else:
                        value[key] = transcoding.decode(data) if transcoding else hook(item)
                else:
                    value[key] = in_dict(item)
            elif kind is list:
                in_list(item)
            elif kind is float and not -_EXACT < item < _EXACT:
                raise _ReadAgain
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return hook(value)
        return value

    def in_list(value: list[Any]) -> None:
        for index, item in enumerate(value):
            kind = type(item)
            if kind is str:
                continue
            if kind is dict:
                value[index] = in_dict(item)
            elif kind is list:
                in_list(item)
            elif kind is float and not -_EXACT < item < _EXACT:
                raise _ReadAgain

    def revived(value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return in_dict(value)
        if kind is list:
            in_list(value)
        elif kind is float and not -_EXACT < value < _EXACT:
            raise _ReadAgain
        return value

    return revived


class FastJSONTranscoder(JSONTranscoder):
    """Decodes what the library's JSONTranscoder encodes, to the same objects, faster."""

    def __init__(self) -> None:
        super().__init__()
        self._revived = _reviver(self._decode_obj, self.names)

    def decode(self, data: bytes) -> Any:
        try:
            return self._revived(orjson.loads(data))
        except (orjson.JSONDecodeError, RecursionError, _ReadAgain):
            return super().decode(data)
