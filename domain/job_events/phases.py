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


class PhaseCompleted(Aggregate.Event):
    """A phase settled: `status` is `completed` or `failed`, and is the phase's true word."""

    TOPIC = _T + "PhaseCompleted"
    phase: str
    status: str

    def apply(self, job: Any) -> None:
        job.phase_marks[self.phase] = self.status


class PhaseReopened(Aggregate.Event):
    """A settled phase has work again (a resume or a reset): `status` is what it is now."""

    TOPIC = _T + "PhaseReopened"
    phase: str
    status: str
    previous_status: str

    def apply(self, job: Any) -> None:
        job.phase_marks[self.phase] = self.status
