"""Free text that quotes a job's own personal data, with the spans of it that do.

An operator's reason ("owner ann@example.com asked for no payments") is recorded as written,
with the spans of it that quote one of the job's personal values (found by
`domain.quoted_values`); the store seals those spans under the organisation's data key, like
the fields they come from, so that once the organisation is erased they read as erased and the
rest of the text as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.secret_words import REDACTED

Span = tuple[int, int]


class QuotingText(str):
    """Text with the spans of it (start, end: sorted, not overlapping, not empty) that quote
    personal data: the store seals them, and they read as erased after an erasure."""

    spans: tuple[Span, ...]

    def __new__(cls, text: str, spans: Iterable[Span]) -> QuotingText:
        made = super().__new__(cls, text)
        made.spans = tuple(spans)
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (QuotingText, (str(self), self.spans))

    def pieces(self) -> list[tuple[str, bool]]:
        """The text in pieces, each with whether it quotes personal data."""
        pieces, at = [], 0
        for start, end in self.spans:
            if start > at:
                pieces.append((str.__getitem__(self, slice(at, start)), False))
            pieces.append((str.__getitem__(self, slice(start, end)), True))
            at = end
        if at < len(self):
            pieces.append((str.__getitem__(self, slice(at, None)), False))
        return pieces


def without_quotes(value: Any, marker: str = REDACTED) -> Any:
    """`value` with each quote of personal data in its texts replaced by `marker`: for what
    cannot be erased later (a log line)."""
    if isinstance(value, QuotingText):
        return "".join(marker if quoted else piece for piece, quoted in value.pieces())
    if isinstance(value, list | tuple):
        return [without_quotes(item, marker) for item in value]
    return value


def joined(pieces: Iterable[tuple[str, bool]]) -> str:
    """The text of `pieces` (text, whether it quotes personal data), with its quotes marked."""
    texts: list[str] = []
    spans: list[Span] = []
    at = 0
    for piece, quoted in pieces:
        if quoted and piece:
            spans.append((at, at + len(piece)))
        texts.append(piece)
        at += len(piece)
    text = "".join(texts)
    return QuotingText(text, spans) if spans else text


def prefixed(prefix: str, text: str) -> str:
    """`prefix` and `text`, the quotes of `text` kept (`prefix` quotes nothing)."""
    if not isinstance(text, QuotingText):
        return prefix + text
    return joined([(prefix, False), *text.pieces()])
