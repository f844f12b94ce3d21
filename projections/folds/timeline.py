"""Pure fold from one job event to its entry in the job's audit timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.event_names import event_reason, public_event_name
from domain.secrets import EVENT_FIELDS, redact_event
from projections.folds.jobs import iso, json_ready

BOOKKEEPING = ("originator_id", "originator_version", "timestamp", "originator_topic")
ENTRY_FIELDS = {"data": EVENT_FIELDS}
"""What a timeline entry's fields hold, for the classifier: its `data` are an event's fields."""
_Describe = Callable[[dict[str, Any]], str]


def _attempt(verb: str) -> _Describe:
    return lambda d: f"{d['sub_step']} {verb} (attempt {d['attempt']})"


def _cascade(data: dict[str, Any]) -> str:
    others = [c["sub_step"] for c in data["cascade"] if c["sub_step"] != data["sub_step"]]
    return f" with {', '.join(others)}" if others else ""


def _resume(data: dict[str, Any]) -> str:
    plan = data.get("resume_plan") or {}
    done = data["resuming_from"] or "none"
    where = f"resumes in {plan.get('phase')}" if plan.get("phase") else "nothing left to run"
    steps = plan.get("sub_steps")
    listed = f" with {', '.join(steps)}" if steps else ""
    keys = sorted(data.get("new_generations") or {})
    fresh = f"; new idempotency keys for {', '.join(keys)}" if keys else ""
    return f"Resume requested: last complete phase {done}, {where}{listed}{fresh}"


def _phase_reopened(data: dict[str, Any]) -> str:
    return f"{data['phase']} reopened ({data['previous_status']} -> {data['status']})"


DESCRIPTIONS: dict[str, _Describe] = {
    "JobCreated": lambda d: f"Job created for {d['restaurant'].get('name', 'a restaurant')}",
    "Step6Started": lambda d: "Step 6 started",
    "Claimed": lambda d: (
        f"Claimed by worker {d['worker_id']}"
        + (f", calling {d['registration_api']}" if d.get("registration_api") else "")
    ),
    "PhaseStarted": lambda d: f"{d['phase']} started",
    "PhaseCompleted": lambda d: f"{d['phase']} settled as {d['status']}",
    "PhaseReopened": _phase_reopened,
    "SubStepStarted": _attempt("started"),
    "SubStepRetryScheduled": lambda d: (
        f"{d['sub_step']} attempt {d['attempt']} failed ({d['error']}); retry in {d['delay']:g} s"
    ),
    "SubStepRetryRequested": lambda d: f"{d['sub_step']}: retry now requested",
    "SubStepCompleted": _attempt("completed"),
    "SubStepFailed": lambda d: (
        f"{d['sub_step']} failed ({'transient' if d['transient'] else 'permanent'}): {d['error']}"
    ),
    "SubStepSkipped": lambda d: f"{d['sub_step']} skipped: {d['reason']}",
    "SubStepReopened": lambda d: f"{d['sub_step']} pending again: {d['reason']}",
    "SubStepInterrupted": lambda d: (
        f"{d['sub_step']} interrupted at attempt {d['attempt']}: outcome unknown"
    ),
    "ManualStatusSet": lambda d: (
        f"{d['sub_step']} set from {d['previous_status']} to {d['status']} by hand"
    ),
    "SubStepReset": lambda d: f"{d['sub_step']} reset to pending" + _cascade(d),
    "EditRefused": lambda d: f"Edit refused: {'; '.join(d['errors'])}",
    "ResumeRequested": lambda d: _resume(d),
    "JobCompleted": lambda d: "Job completed",
    "JobFailed": lambda d: f"Job failed: {d['error']}",
    "JobCancelled": lambda d: "Job cancelled",
    "LegacyProgressImported": lambda d: (
        f"Progress imported from the old system ({len(d['sub_steps'])} sub-steps)"
    ),
}


def event_data(event: Any) -> dict[str, Any]:
    """An event's own fields, JSON-ready, secrets hidden."""
    data = {k: v for k, v in vars(event).items() if k not in BOOKKEEPING}
    return dict(redact_event(json_ready(data)))


def describe(kind: str, data: dict[str, Any]) -> str:
    """A short sentence saying what the event did."""
    describer = DESCRIPTIONS.get(kind)
    return describer(data) if describer else kind


def timeline_entry(event: Any) -> dict[str, Any]:
    """One line of a job's audit timeline: when, who, why, what."""
    kind = public_event_name(event)
    data = event_data(event)
    return {
        "job_id": str(event.originator_id),
        "version": event.originator_version,
        "type": kind,
        "at": iso(event.timestamp),
        "actor": data.get("actor") or "engine",
        "reason": event_reason(data),
        "description": describe(kind, data),
        "data": data,
    }
