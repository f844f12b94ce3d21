"""Pure folds from job events to the read models' rows: no I/O, the aggregate is the one truth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from eventsourcing.domain import OriginatorVersionError

from domain.job import RegistrationJob
from domain.job_state import SubStepState
from domain.plan import PLAN
from domain.quotes import prefixed
from domain.secrets import redact
from domain.status import FINISHED, SubStepStatus
from infrastructure.event_store import VersionsSkipped

SUB_STEP_FIELDS = ("status", "attempts", "started_at", "completed_at", "error", "result")


def iso(moment: datetime | None) -> str | None:
    """An ISO 8601 text for a timestamp, or None."""
    return moment.isoformat() if moment is not None else None


def json_ready(value: Any) -> Any:
    """A JSON-ready copy of `value`: string keys, lists, ISO times, other objects as text."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def public(value: Any) -> Any:
    """A JSON-ready copy of `value` as it may be shown: secrets and credentials masked."""
    return redact(json_ready(value))


def apply_event(job: RegistrationJob | None, event: Any) -> RegistrationJob:
    """The job after one more of its events (None before its Created event); VersionsSkipped,
    naming the job, when the event is not the next of its log (a log changed by hand)."""
    try:
        folded = event.mutate(job)
    except OriginatorVersionError as exc:
        raise VersionsSkipped(event.originator_id, *exc.args) from exc
    if not isinstance(folded, RegistrationJob):
        raise TypeError(f"{type(event).__name__} is not an event of a registration job")
    return folded


def replay(events: Iterable[Any]) -> RegistrationJob:
    """The job that a complete sequence of its events describes."""
    job: RegistrationJob | None = None
    for event in events:
        job = apply_event(job, event)
    if job is None:
        raise ValueError("no events to replay")
    return job


def _sub_step(state: SubStepState, shown: str) -> dict[str, Any]:
    return {
        "status": shown,
        "attempts": state.attempts,
        "started_at": iso(state.started_at),
        "completed_at": iso(state.completed_at) if shown in FINISHED else None,
        "error": state.error,
        "result": None,  # put in once masked: each result is shown twice, and masked once
        "reason": state.reason,
        "retry_at": iso(state.retry_at) if shown == SubStepStatus.RETRYING else None,
    }


@lru_cache(maxsize=1024)
def _shown_sub_step(
    key: str,
    shown: str,
    attempts: int,
    started_at: datetime | None,
    completed_at: datetime | None,
    error: str | None,
    reason: str | None,
    retry_at: datetime | None,
) -> dict[str, Any]:
    """One sub-step's entry as it may be shown, masked as it is inside the whole document (its
    key's name counts); the same few states recur in every job, so each is masked once. The
    entry is shared: a caller copies it before changing it."""
    state = SubStepState(
        attempts=attempts,
        started_at=started_at,
        completed_at=completed_at,
        error=error,
        reason=reason,
        retry_at=retry_at,
    )
    entry: dict[str, Any] = redact({key: _sub_step(state, shown)})[key]
    return entry


def document_of(job: RegistrationJob) -> dict[str, Any]:
    """The job's `sub_step_progress` in the frontend's shape, `blocked` derived, every value
    as it may be shown.

    Masked in parts, each as the whole document would be masked (the names above a sub-step,
    `phases`, a phase's and `sub_steps`, are public; a property test holds the two equal)."""
    shown = job.shown_statuses()
    phases = job.phase_statuses(shown)
    context = job.context
    document: dict[str, Any] = redact(
        {
            "current_phase": job.current_phase_of(phases),
            "registration_api": job.registration_api,
            "phases": {phase: {"status": phases[phase]} for phase in PLAN.phases},
            "context": json_ready({k: v for k, v in context.items() if k != "results"}),
        }
    )
    results = {
        key: None if state.result is None else public(state.result)
        for key, state in job.sub_steps.items()
    }
    for phase, shown_phase in document["phases"].items():
        entries: dict[str, Any] = {}
        for key in PLAN.in_phase(phase):
            state = job.sub_steps[key]
            entry = _shown_sub_step(
                key,
                shown[key],
                state.attempts,
                state.started_at,
                state.completed_at,
                state.error,
                state.reason,
                state.retry_at,
            )
            entries[key] = entry | {"result": results[key]}
        shown_phase["sub_steps"] = entries
    document["context"]["results"] = {key: results[key] for key in context["results"]}
    return document


def job_state(job: RegistrationJob) -> dict[str, Any]:
    """A job's state at its version: which job, which version and when, its status, and its
    progress document. The state query answers it as it is; `regflow state` lays it out by
    sub-step."""
    return {
        "job_id": str(job.id),
        "version": job.version,
        "at": job.modified_on.isoformat(),
        "status": str(job.status),
        "sub_step_progress": document_of(job),
    }


def progress_document(events: Iterable[Any]) -> dict[str, Any]:
    """The `sub_step_progress` document a job's events fold to."""
    return document_of(replay(events))


def status_counts(document: dict[str, Any]) -> dict[str, int]:
    """How many sub-steps show each status (every status present, zeros included)."""
    counted = Counter(
        item["status"]
        for phase in document["phases"].values()
        for item in phase["sub_steps"].values()
    )
    return {str(status): counted.get(status, 0) for status in SubStepStatus}


def standing_error(job: RegistrationJob) -> str | None:
    """The job's last error while a failure still stands behind it: that of the sub-step the
    error recorded last names when it is still failed, else that of the first sub-step (in
    plan order) still failed, else none: every failure was since mended (marked, reset or run
    again). The sub-step's error as it stands now: one mended and failed again (marked failed
    by hand) shows its new error, not the one mended."""
    failed = [k for k in PLAN.keys if job.sub_steps[k].status == SubStepStatus.FAILED]
    if not failed:
        return None
    last = job.last_error or ""
    key = next((k for k in failed if last.startswith(f"{k}: ")), failed[0])
    return prefixed(f"{key}: ", job.sub_steps[key].error or "failed")


def job_summary(job: RegistrationJob, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary row of a job: who, where it stands, what went wrong last; every value as
    it may be shown."""
    document = document or document_of(job)
    summary = {
        "job_id": str(job.id),
        "batch_id": str(job.batch_id),
        "organisation_id": job.organisation_id,
        "restaurant": job.restaurant,
        "name": job.restaurant.get("name"),
        "external_id": job.restaurant.get("external_id"),
        "status": str(job.status),
        "current_phase": document["current_phase"],
        "counts": status_counts(document),
        "last_error": standing_error(job),
        "version": job.version,
        "created_at": iso(job.created_on),
        "updated_at": iso(job.modified_on),
    }
    return dict(public(summary))


def job_row(job: RegistrationJob) -> dict[str, Any]:
    """Everything the job view stores for one job: its summary and its progress document."""
    document = document_of(job)
    return job_summary(job, document) | {"sub_step_progress": document}
