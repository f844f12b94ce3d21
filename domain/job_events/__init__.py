"""The registration job's events, grouped by what they record; their apply code only assigns.

Each event names its topic (`regflow:RegistrationJob.<Name>`) explicitly, so stored events load
whichever module of this package holds their class.
"""

from __future__ import annotations

from domain.job_events.attempts import (
    SubStepCompleted,
    SubStepFailed,
    SubStepInterrupted,
    SubStepReopened,
    SubStepRetryScheduled,
    SubStepSkipped,
    SubStepStarted,
)
from domain.job_events.lifecycle import (
    RESTING_TOPICS,
    Claimed,
    Created,
    JobCancelled,
    JobCompleted,
    JobFailed,
    JobSnapshot,
    Step6Started,
)
from domain.job_events.operator_actions import (
    EditRefused,
    LegacyProgressImported,
    ManualStatusSet,
    ResumeRequested,
    SubStepReset,
    SubStepRetryRequested,
)
from domain.job_events.phases import PhaseCompleted, PhaseReopened, PhaseStarted
from domain.job_events.topic import JOB_TOPIC

__all__ = [
    "JOB_TOPIC",
    "RESTING_TOPICS",
    "Claimed",
    "Created",
    "EditRefused",
    "JobCancelled",
    "JobCompleted",
    "JobFailed",
    "JobSnapshot",
    "LegacyProgressImported",
    "ManualStatusSet",
    "PhaseCompleted",
    "PhaseReopened",
    "PhaseStarted",
    "ResumeRequested",
    "Step6Started",
    "SubStepCompleted",
    "SubStepFailed",
    "SubStepInterrupted",
    "SubStepReopened",
    "SubStepReset",
    "SubStepRetryRequested",
    "SubStepRetryScheduled",
    "SubStepSkipped",
    "SubStepStarted",
]
