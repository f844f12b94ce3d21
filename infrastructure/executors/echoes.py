"""What a call sent that must not come back stored: its secrets and personal data, echoed.

A registration API may quote what it was sent in its answer ("X-Service-Key abc... is not
valid", "password hunter22 is too weak"). The answer becomes the sub-step's error or result,
which is stored in the log and shown in every answer, view and export; what the request
carried safely (a header never stored, a field sealed by its name) would be stored and shown
bare. Each such value the call sent is masked wherever it appears in what came back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from domain.secrets import REDACTED, Sensitivity, transform
from infrastructure.executors.port import CallOutcome

SHORTEST = 4  # a shorter value ("1", "yes") would mask ordinary words of every answer
# In a result, which later calls use (ids, paths), only a secret this long is masked: a short
# one ("test", a development key) would change words of the data itself.
SHORTEST_IN_A_RESULT = 8


@dataclass(frozen=True)
class Sent:
    """What one call sent that must not come back stored, longest first (a value inside a
    longer one is masked with it): its secrets, and its personal data."""

    secrets: list[str]
    personal: list[str]


def sent_values(payload: Any, headers: Iterable[str] = ()) -> Sent:
    """The secret headers' values, and the payload's values its names or shapes classify as
    secret or personal."""
    found: dict[Sensitivity, set[str]] = {Sensitivity.SECRET: {h for h in headers if h}}

    def every_text(kind: Sensitivity, value: Any) -> None:
        if isinstance(value, str):
            found.setdefault(kind, set()).add(value)
        elif isinstance(value, dict):
            for item in value.values():
                every_text(kind, item)
        elif isinstance(value, list | tuple):
            for item in value:
                every_text(kind, item)

    def sensitive(kind: Sensitivity, value: Any) -> Any:
        every_text(kind, value)
        return value

    transform(payload, sensitive)

    def longest_first(kind: Sensitivity) -> list[str]:
        texts = (v for v in found.get(kind, ()) if len(v.strip()) >= SHORTEST)
        return sorted(texts, key=len, reverse=True)

    return Sent(longest_first(Sensitivity.SECRET), longest_first(Sensitivity.PERSONAL))


def masked(value: Any, secrets: list[str]) -> Any:
    """`value` (an answer's text or result) with every one of `secrets` in it masked."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {masked(k, secrets): masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item, secrets) for item in value]
    return value


def without_echoes(outcome: CallOutcome, sent: Sent) -> CallOutcome:
    """The outcome with what the call sent masked: secrets and personal data in its error
    (a message, stored and shown as it is), secrets in its result (a result's personal data
    is the restaurant's own, sealed and shown by its field names, and later calls use it)."""
    if not sent.secrets and not sent.personal:
        return outcome
    error = masked(outcome.error, sorted(sent.secrets + sent.personal, key=len, reverse=True))
    in_result = [s for s in sent.secrets if len(s.strip()) >= SHORTEST_IN_A_RESULT]
    return replace(outcome, error=error, result=masked(outcome.result, in_result))
