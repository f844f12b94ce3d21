"""Statuses and their legal transitions, as model-less `transitions` machines."""

from __future__ import annotations

import functools
from enum import StrEnum

from transitions import Machine

from domain.exceptions import IllegalTransition


class SubStepStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    BLOCKED = "blocked"  # derived, never stored


class PhaseStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


class JobStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BatchStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    PARTIALLY_COMPLETED = "partially_completed"
    FAILED = "failed"


SETTLED_WELL = frozenset({SubStepStatus.COMPLETED, SubStepStatus.SKIPPED})
# The sub-step statuses that end its story for now: only these have a completion time.
FINISHED = frozenset({SubStepStatus.COMPLETED, SubStepStatus.FAILED, SubStepStatus.SKIPPED})
FINAL_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


def _rule(trigger: str, source: object, dest: str) -> dict[str, object]:
    sources = source if isinstance(source, list) else [source]
    return {"trigger": trigger, "source": [str(x) for x in sources], "dest": str(dest)}


def _table(states: list[str], rules: list[dict[str, object]]) -> Machine:
    return Machine(
        model=None, states=states, transitions=rules, auto_transitions=False, initial=None
    )


_S = SubStepStatus
_EDITABLE = [_S.PENDING, _S.RETRYING, _S.COMPLETED, _S.FAILED, _S.SKIPPED]

SUB_STEP_MACHINE = _table(
    [s.value for s in SubStepStatus if s is not _S.BLOCKED],
    [
        _rule("start", [_S.PENDING, _S.RETRYING], _S.IN_PROGRESS),
        _rule("schedule_retry", _S.IN_PROGRESS, _S.RETRYING),
        _rule("interrupt", _S.IN_PROGRESS, _S.RETRYING),
        _rule("complete", _S.IN_PROGRESS, _S.COMPLETED),
        _rule("fail", _S.IN_PROGRESS, _S.FAILED),
        _rule("skip", _S.PENDING, _S.SKIPPED),
        _rule("retry_now", _S.RETRYING, _S.RETRYING),
        _rule("stop_waiting", _S.RETRYING, _S.PENDING),
        _rule("give_fresh_attempts", _S.FAILED, _S.PENDING),
        *(
            _rule(f"mark_{target}", [s for s in _EDITABLE if s != target], target)
            for target in (_S.COMPLETED, _S.FAILED, _S.SKIPPED)
        ),
        _rule("reset", [s for s in _EDITABLE if s != _S.PENDING], _S.PENDING),
    ],
)

_J = JobStatus
_STOPPED = [_J.PENDING, _J.COMPLETED, _J.FAILED, _J.CANCELLED]

JOB_MACHINE = _table(
    [s.value for s in JobStatus],
    [
        # A job cancelled before its Step 6 started is started by a resume or a start naming it.
        _rule("start", [_J.PENDING, _J.CANCELLED], _J.IN_PROGRESS),
        _rule("claim", _J.IN_PROGRESS, _J.IN_PROGRESS),
        _rule("complete", _J.IN_PROGRESS, _J.COMPLETED),
        _rule("fail", _J.IN_PROGRESS, _J.FAILED),
        _rule("cancel", [_J.PENDING, _J.IN_PROGRESS], _J.CANCELLED),
        _rule("resume", [_J.FAILED, _J.CANCELLED, _J.PENDING], _J.IN_PROGRESS),
        _rule("reopen", _J.COMPLETED, _J.PENDING),
        # An operator marks a sub-step of a completed job failed: the job failed (resumable).
        _rule("mark_failed", _J.COMPLETED, _J.FAILED),
        *(_rule("edit", status, status) for status in _STOPPED),
        _rule("import_legacy", _J.PENDING, _J.PENDING),
    ],
)


@functools.lru_cache(maxsize=1024)
def destination(machine: Machine, trigger: str, source: str) -> str | None:
    """Where `trigger` leads from `source`, or None when the machine forbids it.

    The machines are built once, above, and never changed, so answers are kept: the engine
    asks several times per sub-step, and each look-up walks the machine's events. The cache is
    bounded, whatever names a caller passes.
    """
    found = machine.get_transitions(trigger=trigger, source=str(source))
    if not found:
        return None
    return str(found[0].dest)


def require(machine: Machine, trigger: str, source: str, what: str) -> str:
    """The destination of `trigger` from `source`, or IllegalTransition naming `what`."""
    dest = destination(machine, trigger, source)
    if dest is None:
        verb = trigger.replace("_", " ")
        raise IllegalTransition(f"Cannot {verb} {what}: it is {source}")
    return dest
