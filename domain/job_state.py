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
from domain.progress_rules import ResumePlan, last_complete_phase, plan_resume
from domain.status import SETTLED_WELL, JobStatus, PhaseStatus, SubStepStatus

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
    reason: str | None = None
    trace_id: str | None = None
    span_id: str | None = None


_NOT_BEGUN = frozenset({_S.PENDING, _S.SKIPPED})
# Each phase's keys, and each key with its dependencies, in plan order: what `runnable` walks.
_PHASE_KEYS = tuple(
    (PLAN.in_phase(p), tuple((k, PLAN.dependencies(k)) for k in PLAN.in_phase(p)))
    for p in PLAN.phases
)


def phase_status(shown: dict[str, str], phase: str) -> str:
    """A phase's status, derived from its sub-steps' shown statuses."""
    statuses = {shown[k] for k in PLAN.in_phase(phase)}
    if statuses <= SETTLED_WELL:
        return PhaseStatus.COMPLETED
    if statuses <= SETTLED:
        return PhaseStatus.FAILED
    if statuses <= _NOT_BEGUN:
        return PhaseStatus.PENDING
    return PhaseStatus.IN_PROGRESS


class JobQueries:
    """Read-only questions about a job, answered from its folded state."""

    id: Any
    status: str
    sub_steps: dict[str, SubStepState]
    step6_started: bool
    imported_context: dict[str, Any] | None
    completed_here: frozenset[str] = frozenset()
    # Edits asked under an idempotency key: key -> the request's digest and each edit's answer
    # (a job snapshotted before keys were recorded has none).
    edit_requests: Mapping[str, Any] = MappingProxyType({})

    def statuses(self) -> dict[str, str]:
        return {k: str(s.status) for k, s in self.sub_steps.items()}

    def shown_statuses(self) -> dict[str, str]:
        return display_statuses(self.statuses())

    @property
    def context(self) -> dict[str, Any]:
        results = {k: s.result for k, s in self.sub_steps.items()}
        return fold_context(self.statuses(), results, self.imported_context, self.completed_here)

    def phase_statuses(self, shown: dict[str, str] | None = None) -> dict[str, str]:
        """Each phase's status, from the sub-steps' shown statuses (computed when not given)."""
        shown = self.shown_statuses() if shown is None else shown
        return {p: str(phase_status(shown, p)) for p in PLAN.phases}

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

    def waiting_to_retry(self) -> list[str]:
        return [k for k, s in self.sub_steps.items() if s.status == _S.RETRYING]

    def all_settled(self) -> bool:
        return SETTLED.issuperset(self.shown_statuses().values())

    def runnable(self) -> list[str]:
        """Pending or retrying sub-steps whose dependencies and earlier phases allow a start."""
        if self.status != JobStatus.IN_PROGRESS:
            return []
        shown = self.shown_statuses()
        ready: list[str] = []
        for keys, with_dependencies in _PHASE_KEYS:
            ready += [
                k
                for k, dependencies in with_dependencies
                if shown[k] in _WAITING and all(shown[d] in SETTLED_WELL for d in dependencies)
            ]
            if not SETTLED.issuperset([shown[k] for k in keys]):
                break
        return ready

    def last_completed_phase(self) -> str | None:
        """The seed's last complete phase: the last of the phases completed in order."""
        return last_complete_phase(self.phase_statuses())

    def resume_plan(self) -> ResumePlan:
        """What a resume would do now: where it resumes, what runs, which keys change."""
        failures = {k: (s.transient, s.generation) for k, s in self.sub_steps.items()}
        return plan_resume(self.statuses(), self.phase_statuses(), failures, self.context)

    def idempotency_key(self, key: str) -> str:
        return f"{self.id}:{key}:{self.sub_steps[key].generation}"
