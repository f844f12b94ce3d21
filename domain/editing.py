"""The operator's editing rules: dependency checks, warnings, the reset cascade."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domain.context import PRODUCED_BY
from domain.plan import PLAN
from domain.status import SETTLED_WELL, SUB_STEP_MACHINE, SubStepStatus, destination

_S = SubStepStatus
EDIT_TARGETS = (_S.COMPLETED, _S.FAILED, _S.SKIPPED, _S.PENDING)


_WAITING = frozenset({_S.PENDING, _S.RETRYING})
_STOPPED = frozenset({_S.FAILED, _S.BLOCKED})
_BLOCKED = str(_S.BLOCKED)
_DEPENDENCIES = tuple((key, PLAN.dependencies(key)) for key in PLAN.order)


def display_statuses(stored: Mapping[str, str]) -> dict[str, str]:
    """Stored statuses with `blocked` shown for waiting sub-steps behind a failure."""
    if _STOPPED.isdisjoint(stored.values()):
        # Nothing failed or blocked, so nothing is shown blocked: the usual case of a run,
        # asked several times per sub-step, answered without walking the dependencies.
        return {key: stored[key] for key in PLAN.keys}
    shown: dict[str, str] = {}
    for key, dependencies in _DEPENDENCIES:
        status = stored[key]
        if status in _WAITING and any(shown[dep] in _STOPPED for dep in dependencies):
            status = _BLOCKED
        shown[key] = status
    return {key: shown[key] for key in PLAN.keys}


@dataclass(frozen=True)
class EditRequest:
    """The idempotency key a request of edits came with, and the keyed digest of its content:
    a repeat of the key with the same digest is answered as the edits it made were."""

    key: str
    digest: str


@dataclass(frozen=True)
class EditCheck:
    """Whether one edit is allowed, and what it would do."""

    sub_step: str
    target: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cascade: list[str] = field(default_factory=list)
    # The sub-steps the edit would change whose call is in flight: a conflict with the job's
    # state that ends with the call, not a fault of the edit.
    in_flight: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def check_edit(
    stored: Mapping[str, str],
    key: str,
    target: str,
    switched_off: Mapping[str, str] | None = None,
) -> EditCheck:
    """Check setting `key` to `target` against the rules, without changing anything.

    `switched_off`: the sub-steps the job's execution_config switches off, each with the
    reason. A reset never makes one of them pending: the config says it must not run.
    """
    PLAN.sub_step(key)
    current = stored[key]
    if target == _S.PENDING:
        return _check_reset(stored, key, switched_off or {})
    if current == _S.IN_PROGRESS:
        return EditCheck(key, target, [in_flight_error(f"mark {key} as {target}")], in_flight=[key])
    errors = _transition_errors(current, key, target)
    if target == _S.FAILED:
        # A resume runs a failed sub-step again, perhaps under a new generation, while a
        # dependent's call made on its old outcome could still land: the edit waits for it.
        flying = [k for k in PLAN.cascade_of(key) if stored[k] == _S.IN_PROGRESS]
        if flying:
            refusals = [dependent_in_flight_error(key, k) for k in flying]
            return EditCheck(key, target, refusals, in_flight=flying)
    if target == _S.COMPLETED:
        shown = display_statuses(stored)
        errors += [
            f"Cannot mark {key} as completed: {dep} is {shown[dep]}"
            for dep in PLAN.dependencies(key)
            if shown[dep] not in SETTLED_WELL
        ]
    return EditCheck(key, target, errors, _warnings(stored, key, target))


def in_flight_error(edit: str) -> str:
    """Why `edit` ("mark X as failed", "reset X") must wait for a call in flight."""
    return (
        f"Cannot {edit}: its call to the registration API is still in flight; "
        "try again once its outcome is recorded"
    )


def dependent_in_flight_error(key: str, dependent: str) -> str:
    """Why marking `key` failed must wait for the call in flight of `dependent`."""
    return (
        f"Cannot mark {key} as failed: {dependent} depends on it and its call to the "
        "registration API is still in flight; try again once its outcome is recorded"
    )


def _transition_errors(current: str, key: str, target: str) -> list[str]:
    if target not in EDIT_TARGETS:
        allowed = ", ".join(EDIT_TARGETS)
        return [f"Cannot set {key} to {target}: allowed statuses are {allowed}"]
    if current == target:
        return [f"Cannot mark {key} as {target}: it is already {target}"]
    if destination(SUB_STEP_MACHINE, f"mark_{target}", current) is None:
        return [f"Cannot mark {key} as {target}: it is {current}"]
    return []


def _warnings(stored: Mapping[str, str], key: str, target: str) -> list[str]:
    waiting = [k for k in PLAN.cascade_of(key) if stored[k] not in SETTLED_WELL]
    done = [k for k in PLAN.cascade_of(key) if stored[k] == _S.COMPLETED]
    warnings: list[str] = []
    if target == _S.FAILED and waiting:
        warnings.append(f"Marking {key} as failed blocks {', '.join(waiting)}")
    unmet = [k for k in waiting if _needs_what(key, k)]
    runs = [k for k in waiting if k not in unmet]
    if target == _S.SKIPPED and runs:
        warnings.append(f"Marking {key} as skipped lets {', '.join(runs)} run without it")
    if target == _S.SKIPPED and unmet:
        reasons = sorted({_reason(k) for k in unmet})
        warnings.append(f"Marking {key} as skipped skips {', '.join(unmet)}: {'; '.join(reasons)}")
    if target in (_S.FAILED, _S.SKIPPED) and done:
        warnings.append(f"{', '.join(done)} already completed and depend on {key}")
    return warnings


def _needs_what(key: str, dependent: str) -> bool:
    """Whether `dependent` runs only on a context flag that `key` produces."""
    condition = PLAN.sub_step(dependent).runs_if
    return condition is not None and condition.context_key in PRODUCED_BY.get(key, ())


def _reason(key: str) -> str:
    condition = PLAN.sub_step(key).runs_if
    return condition.unmet_reason if condition is not None else ""


def _check_reset(stored: Mapping[str, str], key: str, switched_off: Mapping[str, str]) -> EditCheck:
    if key in switched_off:
        why = f"the execution_config switches it off ({switched_off[key]})"
        return EditCheck(key, _S.PENDING, [f"Cannot reset {key}: {why}"])
    cascade = reset_cascade(stored, key, switched_off)
    in_flight = [k for k in cascade if stored[k] == _S.IN_PROGRESS]
    errors = [in_flight_error(f"reset {k}") for k in in_flight]
    if not cascade:
        errors.append(f"Cannot reset {key}: it and its dependents are already pending")
    kept = [k for k in PLAN.cascade_of(key) if k in switched_off and stored[k] != _S.PENDING]
    warnings = []
    if kept:
        warnings.append(f"{', '.join(kept)} not reset: the execution_config switches them off")
    return EditCheck(key, _S.PENDING, errors, warnings, cascade, in_flight)


def reset_cascade(
    stored: Mapping[str, str], key: str, switched_off: Mapping[str, str] | None = None
) -> list[str]:
    """`key` and every transitive dependent that is not pending, in plan order, but for those
    the job's execution_config switches off (`switched_off`): they keep their status."""
    off = switched_off or {}
    candidates = (key, *PLAN.cascade_of(key))
    return [k for k in candidates if stored[k] != _S.PENDING and k not in off]


def simulate(stored: Mapping[str, str], check: EditCheck) -> dict[str, str]:
    """Statuses after a valid edit, for checking the next edit of a bulk list."""
    after = dict(stored)
    if check.target == _S.PENDING:
        after.update({k: _S.PENDING for k in check.cascade})
    else:
        after[check.sub_step] = check.target
    return after


def statuses_after(stored: Mapping[str, str], checks: list[EditCheck]) -> dict[str, str]:
    """Statuses after valid edits, in order."""
    after = dict(stored)
    for check in checks:
        after = simulate(after, check)
    return after


def check_bulk(
    stored: Mapping[str, str],
    edits: list[tuple[str, str]],
    switched_off: Mapping[str, str] | None = None,
) -> list[EditCheck]:
    """Check edits in order, each against the statuses the earlier ones leave."""
    checks: list[EditCheck] = []
    current = dict(stored)
    for key, target in edits:
        check = check_edit(current, key, target, switched_off)
        checks.append(check)
        if check.valid:
            current = simulate(current, check)
    return checks


@dataclass(frozen=True)
class SubStepValidation:
    """A sub-step's place in the plan, the statuses around it, and which edits are allowed."""

    sub_step: str
    phase: str
    status: str
    job_status: str
    editable: bool
    dependencies: dict[str, str]
    dependents: dict[str, str]
    checks: dict[str, EditCheck]
