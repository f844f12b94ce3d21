"""A phase's marks: started, settled (completed or failed) and reopened."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from domain.job_events.topic import EVENT_TOPIC_PREFIX as _T
from domain.progress_rules import STARTED


class PhaseStarted(Aggregate.Event):
    TOPIC = _T + "PhaseStarted"
    phase: str

    def apply(self, job: Any) -> None:
        job.phase_marks[self.phase] = STARTED


def _said_by_the_engine(state: dict[str, Any]) -> None:
    """Version 1 of a phase's word named no actor: it is shown as the engine's."""
    state["actor"] = "engine"


class PhaseCompleted(Aggregate.Event):
    """A phase settled: `status` is `completed` or `failed`, and is the phase's true word.
    `actor`: whose command settled it (the engine's run, or an operator's edit or resume)."""

    TOPIC = _T + "PhaseCompleted"
    class_version = 2
    phase: str
    status: str
    actor: str

    upcast_v1_v2 = staticmethod(_said_by_the_engine)

    def apply(self, job: Any) -> None:
        job.phase_marks[self.phase] = self.status


class PhaseReopened(Aggregate.Event):
    """A settled phase has work again (a resume or a reset): `status` is what it is now;
    `actor`: whose command reopened it."""

    TOPIC = _T + "PhaseReopened"
    class_version = 2
    phase: str
    status: str
    previous_status: str
    actor: str

    upcast_v1_v2 = staticmethod(_said_by_the_engine)

    def apply(self, job: Any) -> None:
        job.phase_marks[self.phase] = self.status
