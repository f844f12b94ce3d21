"""One log line per event an operator looks for: batches created and started, jobs finished,
manual edits, resumes and cancels. Written when the events are stored, by whichever process.

A log line cannot be erased: what a reason or an error quotes of the job's personal data is
masked in it (`domain.quotes`), the rest shown as written."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from domain import job_events as J
from domain.batch import RegistrationBatch
from domain.quotes import without_quotes as _shown

log = logging.getLogger("regflow.operations")


def _batch_created(e: Any) -> str:
    return (
        f"batch {e.originator_id} created: {e.name!r}, {len(e.jobs)} jobs,"
        f" organisation {e.organisation_id}, by {e.actor}"
    )


def _failed(e: Any) -> str:
    blocked = f"; blocked: {', '.join(e.blocked)}" if e.blocked else ""
    error = _shown(e.error)
    return f"job {e.originator_id} failed: {error} (failed: {', '.join(e.failed)}{blocked})"


def _reset(e: Any) -> str:
    return (
        f"job {e.originator_id}: {e.sub_step} reset to pending with {len(e.cascade) - 1}"
        f" dependents by {e.actor}, reason: {_shown(e.reason)}"
    )


LINES: dict[type, Callable[[Any], str]] = {
    RegistrationBatch.Created: _batch_created,
    RegistrationBatch.Step6StartRequested: lambda e: (
        f"batch {e.originator_id}: Step 6 started for {len(e.job_ids)} jobs by {e.actor}"
    ),
    J.JobCompleted: lambda e: f"job {e.originator_id} completed",
    J.JobFailed: _failed,
    J.ManualStatusSet: lambda e: (
        f"job {e.originator_id}: {e.sub_step} set from {e.previous_status} to {e.status}"
        f" by {e.actor}, reason: {_shown(e.reason)}"
    ),
    J.SubStepReset: _reset,
    J.EditRefused: lambda e: (
        f"job {e.originator_id}: edit by {e.actor} refused: {'; '.join(_shown(e.errors))}"
    ),
    J.ResumeRequested: lambda e: (
        f"job {e.originator_id} resumed from {e.resuming_from or 'the start'} by {e.actor}"
    ),
    J.JobCancelled: lambda e: (
        f"job {e.originator_id} cancelled by {e.actor}"
        + (f", reason: {_shown(e.reason)}" if e.reason else "")
    ),
}


@functools.cache
def _line_of(kind: type) -> Callable[[Any], str] | None:
    """The line of an event class (the aggregates subclass the domain's events)."""
    return next((LINES[c] for c in kind.__mro__ if c in LINES), None)


def log_stored(events: Iterable[Any]) -> None:
    """Log the stored events an operator looks for, with their fields for JSON lines."""
    if not log.isEnabledFor(logging.INFO):
        return
    for event in events:
        line = _line_of(type(event))  # type: ignore[arg-type]  # mypy: a class is not Hashable
        if line is None:
            continue
        fields = {
            "event": type(event).__name__,
            "aggregate_id": str(event.originator_id),
            "actor": getattr(event, "actor", None),
            "reason": _shown(getattr(event, "reason", None)),
        }
        log.info(line(event), extra={"fields": fields})
