"""A job's state and the queries derived from it (statuses, phases, context, work)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from domain.context import fold_context
from domain.editing import display_statuses
from domain.plan import PLAN
from domain.progress_rules import last_complete_phase
from domain.status import SETTLED_WELL, JobStatus, PhaseStatus, SubStepStatus

SIMULATED_API = "simulator"
"""How a claim names the built-in simulator as the registration API its calls go to."""

_S = SubStepStatus
SETTLED = frozenset({_S.COMPLETED, _S.SKIPPED, _S.FAILED, _S.BLOCKED})
_WAITING = frozenset({_S.PENDING, _S.RETRYING})


@dataclass
class SubStepState:
    """Where one sub-step of one job stands."""

    status: str = _S.PENDING
    attempts: int = 0
    run_attempts: int = 0
    spared: int = 0  # attempts of this run lost to an API outage: they do not count
    generation: int = 1
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: str | None = None
    transient: bool | None = None
    result: dict[str, Any] = field(default_factory=dict)
    retry_at: datetime | None = None
    # The wait until `retry_at` honours the registration API's Retry-After: no retry-now cuts it.
    retry_asked_by_api: bool = False
    # A retry-now was recorded during this wait: the next attempt is due, a second changes nothing.
    retry_now_asked: bool = False
    reason: str | None = None
    # Skipped by the menu rule (not by hand, not by the execution_config): the rule takes it back
    # once its reason is gone (`progress_rules.conditional_reopens`).
    skipped_by_rule: bool = False
    trace_id: str | None = None
    span_id: str | None = None


_NOT_BEGUN = frozenset({_S.PENDING, _S.SKIPPED})
_KEYS = PLAN.keys
# Each phase's keys with their dependencies, in plan order: what `runnable` walks.
_PHASE_KEYS = tuple(tuple((k, PLAN.dependencies(k)) for k in PLAN.in_phase(p)) for p in PLAN.phases)
_STOPPED = frozenset({_S.FAILED, _S.BLOCKED})
_PHASES = PLAN.phases
_IN_PHASE = {p: PLAN.in_phase(p) for p in PLAN.phases}
_PHASE_COMPLETED, _PHASE_FAILED = str(PhaseStatus.COMPLETED), str(PhaseStatus.FAILED)
_PHASE_PENDING, _PHASE_IN_PROGRESS = str(PhaseStatus.PENDING), str(PhaseStatus.IN_PROGRESS)


def phase_status(shown: dict[str, str], phase: str) -> str:
    """A phase's status, derived from its sub-steps' shown statuses."""
    statuses = {shown[k] for k in _IN_PHASE[phase]}
    if statuses <= SETTLED_WELL:
        return _PHASE_COMPLETED
    if statuses <= SETTLED:
        return _PHASE_FAILED
    if statuses <= _NOT_BEGUN:
        return _PHASE_PENDING
    return _PHASE_IN_PROGRESS


class JobQueries:
    """Read-only questions about a job, answered from its folded state."""

    id: Any
    status: str
    sub_steps: dict[str, SubStepState]
    step6_started: bool
    imported_context: dict[str, Any] | None
    registration_api: str | None
    completed_here: frozenset[str] = frozenset()
    # Edits asked under an idempotency key: key -> the request's digest and each edit's answer
    # (a job snapshotted before keys were recorded has none).
    edit_requests: Mapping[str, Any] = MappingProxyType({})

    def statuses(self) -> dict[str, str]:
        """Each sub-step's stored status, in plan order."""
        sub_steps = self.sub_steps
        return {k: str(sub_steps[k].status) for k in _KEYS}

    def shown_statuses(self) -> dict[str, str]:
        stored = self.statuses()
        # A fresh dict: when nothing failed or is blocked, it is what is shown, as it stands.
        return stored if _STOPPED.isdisjoint(stored.values()) else display_statuses(stored)

    @property
    def context(self) -> dict[str, Any]:
        results = {k: s.result for k, s in self.sub_steps.items()}
        return fold_context(self.statuses(), results, self.imported_context, self.completed_here)

    def phase_statuses(self, shown: dict[str, str] | None = None) -> dict[str, str]:
        """Each phase's status, from the sub-steps' shown statuses (computed when not given)."""
        shown = self.shown_statuses() if shown is None else shown
        return {p: phase_status(shown, p) for p in _PHASES}

    @property
    def current_phase(self) -> str | None:
        """The first phase not yet completed (the last one when all are)."""
        return self.current_phase_of(self.phase_statuses())

    def current_phase_of(self, phases: dict[str, str]) -> str | None:
        """The current phase, given the phases' statuses."""
        if not self.step6_started:
            return None
        return next((p for p in PLAN.phases if phases[p] != PhaseStatus.COMPLETED), PLAN.phases[-1])

    def in_flight(self) -> list[str]:
        return [k for k, s in self.sub_steps.items() if s.status == _S.IN_PROGRESS]

    def may_run_against(self, registration_api: str | None) -> bool:
        """Whether a worker calling `registration_api` may go on with this job: one whose
        calls went to the simulator is never continued against a real registration API, nor
        the other way round, since what its earlier sub-steps made exists only where they made
        it. Moving between addresses of the real API, or a job no worker has run, is free."""
        recorded = self.registration_api
        if recorded is None or registration_api is None:
            return True
        return (recorded == SIMULATED_API) == (registration_api == SIMULATED_API)

    def waiting_to_retry(self) -> list[str]:
        return [k for k, s in self.sub_steps.items() if s.status == _S.RETRYING]

    def all_settled(self) -> bool:
        return SETTLED.issuperset(self.shown_statuses().values())

    def runnable(self) -> list[str]:
        """Pending or retrying sub-steps whose dependencies and earlier phases allow a start.

        Asked several times per sub-step by the engine, so it walks the plan once in plain
        loops: a phase's sub-steps are looked at only when every earlier phase is settled.
        """
        if self.status != JobStatus.IN_PROGRESS:
            return []
        shown = self.shown_statuses()
        ready: list[str] = []
        for with_dependencies in _PHASE_KEYS:
            settled = True
            for key, dependencies in with_dependencies:
                status = shown[key]
                if status in _WAITING:
                    settled = False
                    for dependency in dependencies:
                        if shown[dependency] not in SETTLED_WELL:
                            break
                    else:
                        ready.append(key)
                elif status not in SETTLED:
                    settled = False
            if not settled:
                break
        return ready

    def last_completed_phase(self) -> str | None:
        """The seed's last complete phase: the last of the phases completed in order."""
        return last_complete_phase(self.phase_statuses())

    def idempotency_key(self, key: str) -> str:
        return f"{self.id}:{key}:{self.sub_steps[key].generation}"
