"""The simulator's record of calls, and the checks tests run over it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any

Call = Mapping[str, Any]


@dataclass(slots=True)
class CallRecord:
    """One call the simulator received, from arrival to answer."""

    key: str | None
    endpoint: str
    job: str | None
    sub_step: str
    generation: str | None
    started: float
    organisation: str | None = None
    finished: float | None = None
    status: int | None = None
    executed: bool = False
    replay: bool = False
    fault: str | None = None
    traceparent: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return asdict(self)


def parse_key(key: str) -> tuple[str, str | None, str | None]:
    """Split `<jobId>:<subStep>:<generation>` into its parts (missing parts are None)."""
    job, _, rest = key.partition(":")
    sub_step, _, generation = rest.partition(":")
    return job, sub_step or None, generation or None


def _as_call(call: CallRecord | Call) -> Call:
    return call.as_dict() if isinstance(call, CallRecord) else call


def executions_per_key(calls: Iterable[CallRecord | Call]) -> dict[str, int]:
    """How many times each idempotency key was really executed (replays excluded)."""
    counted = Counter(c["key"] for c in map(_as_call, calls) if c["executed"] and c["key"])
    return dict(counted)


def overlapping_executions(
    calls: Iterable[CallRecord | Call], *, executed_only: bool = True
) -> list[tuple[Call, Call]]:
    """Pairs of calls for one sub-step of one job whose time spans overlap."""
    chosen = [c for c in map(_as_call, calls) if c["executed"] or not executed_only]
    by_sub_step: dict[tuple[Any, Any], list[Call]] = {}
    for call in chosen:
        by_sub_step.setdefault((call["job"], call["sub_step"]), []).append(call)
    return [
        (first, second)
        for group in by_sub_step.values()
        for first, second in combinations(sorted(group, key=lambda c: c["started"]), 2)
        if first["finished"] is None or second["started"] < first["finished"]
    ]
