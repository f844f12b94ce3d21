"""Stored or received text made safe to write plainly: every character Python deems not
printable (ESC sequences, OSC 8 links, carriage returns, newlines that would forge a line,
bidirectional overrides) becomes a visible escape."""

from __future__ import annotations

from typing import Any

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    if char.isprintable():
        return char
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(value: Any) -> str:
    """`value` as text safe to print plainly: every character that is not printable escaped."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(_visible(c) for c in text)
