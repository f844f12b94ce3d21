"""The shapes of the API's answers, successful and refused, as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Answer(BaseModel):
    """Every successful answer."""

    success: Literal[True] = True


class ErrorAnswer(BaseModel):
    """Every refused or failed request."""

    success: Literal[False] = False
    message: str
    errors: list[Any] = Field(default_factory=list)


class JobRef(BaseModel):
    id: str
    restaurant: dict[str, Any]
    status: str


class BatchCreated(BaseModel):
    id: str
    name: str
    status: str
    total: int
    jobs: list[JobRef] | None = None


class BatchCreatedAnswer(Answer):
    batch: BatchCreated


class BatchAnswer(Answer):
    batch: dict[str, Any]


class ProgressJob(BaseModel):
    id: str
    name: str | None = None
    status: str
    current_phase: str | None = None
    waiting_for_capacity: bool = False


class ProgressAnswer(Answer):
    batch_id: str
    status: str
    total: int
    completed: int
    failed: int
    in_progress: int
    pending: int
    cancelled: int = Field(description="jobs cancelled by an operator; with the others, total")
    percent: float
    waiting_for_capacity: int = Field(
        default=0, description="jobs with a call waiting for registration API capacity"
    )
    jobs: list[ProgressJob]


class StartedAnswer(Answer):
    started: list[str]
    already_started: list[str] = Field(default_factory=list)
    left_cancelled: list[str] = Field(
        default_factory=list,
        description="jobs cancelled before their Step 6 started, which a start of the whole "
        "batch leaves as they are (name one in job_ids, or resume it, to start it)",
    )


class JobAnswer(Answer):
    job: dict[str, Any]


class ResumePlanOut(BaseModel):
    """Where work resumes and the sub-steps that will run, in plan order."""

    phase: str | None
    sub_steps: list[str]


class ResumeAnswer(Answer):
    message: str
    resuming_from: str | None
    resume_plan: ResumePlanOut
    dry_run: bool = False


class CommandAnswer(Answer):
    message: str
    version: int


class RetryNowAnswer(Answer):
    sub_step: str
    version: int


class EditAnswer(Answer):
    sub_step: str
    status: str
    warnings: list[str]
    reset: list[str] = Field(default_factory=list)
    version: int
    job_status: str
    dry_run: bool


class BulkEditAnswer(Answer):
    updates: list[dict[str, Any]]
    warnings: list[str]
    version: int
    job_status: str
    dry_run: bool


class ResetAnswer(Answer):
    sub_step: str
    reset: list[str]
    version: int
    job_status: str
    dry_run: bool


class ValidationAnswer(Answer):
    sub_step: str
    phase: str
    status: str
    dependencies: list[dict[str, Any]]
    dependents: list[dict[str, Any]]
    transitions: dict[str, dict[str, Any]]


class JobEvent(BaseModel):
    version: int
    type: str
    at: str
    actor: str | None
    reason: str | None
    data: dict[str, Any]


class EventsAnswer(Answer):
    events: list[JobEvent]
    next_after_version: int


class StateAnswer(Answer):
    job_id: str
    version: int
    at: str
    status: str
    sub_step_progress: dict[str, Any]


class HealthAnswer(Answer):
    status: str
    checks: dict[str, Any] = Field(default_factory=dict)
