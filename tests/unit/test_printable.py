"""Property: stored text shown escaped reads back as exactly that text, whatever it holds: a
control character and the same escape typed as plain text show differently, through the
escape alone and through the CLI's console with its markup escaping."""

from __future__ import annotations

import io
import re

from hypothesis import example, given
from hypothesis import strategies as st

from api.cli.output import console, escape_masked
from infrastructure.printable import escape_control

ESCAPE = re.compile(r"\\(\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")
NAMED = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
# Text rich or a terminal might read: escapes typed out, markup, backslashes before brackets.
TYPED = ["\\", "\\\\", "\\x1b", "\\n", "\\u202e", "[red]", "[/]", "\\[b]", "\x1b", "\n", "\u202e"]
texts = st.text() | st.lists(st.sampled_from(TYPED) | st.text(max_size=3), max_size=8).map("".join)


def read_back(shown: str) -> str:
    """The text an escaped text stands for; AssertionError on a lone backslash."""
    assert "\\" not in ESCAPE.sub("", shown), f"a backslash that escapes nothing: {shown!r}"

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        return NAMED.get(body) or chr(int(body[1:], 16))

    return ESCAPE.sub(one, shown)


@given(texts)
@example("\\x1b[31mfake")
@example("\x1b[31mfake")
@example("a\\")
@example("\U000e0001")  # past the BMP: `\ue0001` would read back as U+E000 and "1"
def test_an_escaped_text_reads_back_as_itself(text: str) -> None:
    shown = escape_control(text)
    assert shown.isprintable()
    assert read_back(shown) == text


@given(texts)
@example("a\\")
@example("\\[bold]x")
def test_the_cli_prints_exactly_the_escape_of_stored_text(text: str) -> None:
    """In a pipe, what is printed is the escape, markup shown as typed: no bracket or backslash
    is taken by rich as markup or lost."""
    buffer = io.StringIO()
    console(file=buffer).print(escape_masked(text), end="")
    assert buffer.getvalue() == escape_control(text)
    assert read_back(buffer.getvalue()) == text
