"""What a job's free text quotes of its own personal data: found where its text stands, in any
case (a phone number's digits however they are spaced, an international one in its national
forms too; a secret only as written); a value shorter than ANYWHERE only as a word of its own,
and one shorter than SHORTEST not at all, so that short values do not mask ordinary words ("Bo"
in "Bob"). A quoted secret of the job is never recorded: its place is masked, as every secret
shown is, and marked like a quote, so that it too reads as erased after an erasure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from domain.quotes import QuotingText, Span, joined
from domain.secrets import ERASED, REDACTED, Sensitivity, transform

SHORTEST = 4  # as for what a call's answer echoes (`infrastructure.executors.echoes`)
ANYWHERE = 8  # a value this long is found inside words too; a shorter one only as a word
PHONE_DIGITS = 7  # a phone number this long is found by its digits, however spaced
_PHONE = re.compile(r"\+?[0-9 ().\-/]+")
_BETWEEN_DIGITS = r"[ ().\-/]{0,3}"  # what may stand between a phone number's digits


@dataclass(frozen=True)
class Quotable:
    """The values of a job that its free text may quote: personal data, and secrets."""

    personal: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()


def quotable(document: dict[str, Any]) -> Quotable:
    """The personal and secret values in `document` (a job's restaurant and execution_config
    under their own names), as the one classifier (`domain.secrets`) finds them."""
    found: dict[Sensitivity, set[str]] = {Sensitivity.PERSONAL: set(), Sensitivity.SECRET: set()}

    def collect(kind: Sensitivity, value: Any) -> Any:
        found[kind].update(_texts(value))
        return value

    transform(document, collect)
    return Quotable(_kept(found[Sensitivity.PERSONAL]), _kept(found[Sensitivity.SECRET]))


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _kept(values: Iterable[str]) -> tuple[str, ...]:
    """The values looked for, in order: not the short ones, nor a mask."""
    return tuple(sorted({v for v in values if len(v) >= SHORTEST and v not in (ERASED, REDACTED)}))


def quoting(text: str, values: Quotable) -> str:
    """`text` with the spans that quote `values` marked (a QuotingText), every secret of them
    it quotes masked; `text` itself when it quotes none."""
    if not text or not (values.personal or values.secrets):
        return text
    if _any_of(values.personal, values.secrets).search(text) is None:
        return text  # most texts quote none
    secret = _found(text, values.secrets, any_case=False)
    spans = _found(text, values.personal, any_case=True) + secret
    if isinstance(text, QuotingText):
        spans += text.spans
    if not spans:
        return text
    pieces, at = [], 0
    for start, end in _merged(spans):
        masked = any(s < end and start < e for s, e in secret)
        pieces += [(text[at:start], False), (REDACTED if masked else text[start:end], True)]
        at = end
    return joined([*pieces, (text[at:], False)])


def quoting_within(value: Any, values: Quotable) -> Any:
    """`value` with `quoting` applied to every text in it (inside dicts and lists too)."""
    if isinstance(value, str):
        return quoting(value, values)
    if isinstance(value, dict):
        return {key: quoting_within(item, values) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [quoting_within(item, values) for item in value]
    return value


def quoting_public(document: dict[str, Any], values: Quotable) -> dict[str, Any]:
    """`document` with the personal data of `values` quoted in its public texts marked (a
    restaurant's name, an address); its secret and personal fields, sealed whole, and its
    secrets quoted anywhere are left as they are: a config's text is what calls send."""
    personal = Quotable(values.personal)
    marked: dict[str, Any] = transform(document, _as_it_is, on_text=lambda t: quoting(t, personal))
    return marked


def _as_it_is(kind: Sensitivity, value: Any) -> Any:
    return value


def _found(text: str, values: tuple[str, ...], any_case: bool) -> list[Span]:
    return [
        (match.start(1), match.end(1))
        for pattern in _patterns(values, any_case)
        for match in pattern.finditer(text)
    ]


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


@lru_cache(maxsize=4096)
def _patterns(values: tuple[str, ...], any_case: bool) -> tuple[re.Pattern[str], ...]:
    """One expression per value, each finding every occurrence, overlapping ones too."""
    return tuple(re.compile(f"(?=({_pattern(v, any_case)}))") for v in _kept(values))


@lru_cache(maxsize=4096)
def _any_of(personal: tuple[str, ...], secrets: tuple[str, ...]) -> re.Pattern[str]:
    """One expression finding whether any personal value or secret is quoted at all."""
    patterns = [_pattern(v, True) for v in _kept(personal)]
    patterns += [_pattern(v, False) for v in _kept(secrets)]
    return re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)")


def _pattern(value: str, any_case: bool) -> str:
    exact = f"(?i:{re.escape(value)})" if any_case else re.escape(value)
    if len(value) < ANYWHERE:
        before = r"(?<!\w)" if re.match(r"\w", value) else ""
        after = r"(?!\w)" if re.match(r"\w", value[-1]) else ""
        exact = before + exact + after
    digits = re.sub(r"[^0-9]", "", value)
    if len(digits) < PHONE_DIGITS or not _PHONE.fullmatch(value):
        return exact
    forms = [exact, rf"(?:\+|(?<![0-9])){_BETWEEN_DIGITS.join(digits)}(?![0-9])"]
    if value.lstrip().startswith("+"):
        forms += _national_forms(digits)
    return "|".join(forms)


def _national_forms(digits: str) -> list[str]:
    """An international number's national forms: without its country code (of 1 to 3 digits),
    after a trunk 0 or not ("+64 21 555 0199" as "021 555 0199", "+1 415 555 0199" as
    "(415) 555-0199", "+44 20 7946 0958" as "+44 (0)20 7946 0958")."""
    rests = [digits[k:] for k in (1, 2, 3) if len(digits) - k >= PHONE_DIGITS]
    trunk = rf"(?:0{_BETWEEN_DIGITS})?"
    return [rf"(?<![0-9]){trunk}{_BETWEEN_DIGITS.join(rest)}(?![0-9])" for rest in rests]
