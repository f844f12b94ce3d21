"""Stored or received text made safe to write plainly: every character Python deems not
printable (ESC sequences, OSC 8 links, carriage returns, newlines that would forge a line,
bidirectional overrides) becomes a visible escape, and a backslash is doubled, so the escaped
text reads back as exactly one text: a stored `\\x1b` is not shown as an ESC is."""

from __future__ import annotations

from typing import Any

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _visible(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_control(value: Any) -> str:
    """`value` as text safe to print plainly: every character that is not printable escaped,
    and every backslash doubled."""
    text = "" if value is None else str(value)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_visible(c) for c in text)
