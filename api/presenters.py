"""How answers are shown: JSON with secrets redacted, and a job's progress document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api.caching import GZIP_FROM_BYTES, etag, gzipped, json_bytes
from domain.editing import SubStepValidation
from domain.secrets import Declared, redact
from domain.status import SETTLED_WELL
from projections.folds.timeline import ENTRY_FIELDS
from projections.jsontext import dumps

EVENTS_ANSWER: Declared = {"events": ENTRY_FIELDS}
"""The events answer's fields: timeline entries, each holding an event's fields."""


def ok(http_status: int = 200, /, **fields: Any) -> web.Response:
    """A success answer; every field is redacted, whatever it holds."""
    return ok_as_declared(None, http_status, **fields)


def ok_as_declared(
    declared: Declared | None, http_status: int = 200, /, **fields: Any
) -> web.Response:
    """A success answer whose fields `declared` says what they hold (the words of their names
    would mislead the classifier); the rest is redacted as `ok` redacts it."""
    shown = redact(fields, declared)
    return web.json_response({"success": True, **shown}, status=http_status, dumps=dumps)


IDEMPOTENT_REPLAYED = "Idempotent-Replayed"


def replayed(answer: web.Response, was_replayed: bool) -> web.Response:
    """`answer`, marked as the answer to an earlier request of the same idempotency key."""
    if was_replayed:
        answer.headers[IDEMPOTENT_REPLAYED] = "true"
    return answer


def batch_created(batch: Any, jobs: list[dict[str, Any]], brief: bool = False) -> dict[str, Any]:
    """A new batch and its jobs' lines (none when `brief`), as the create answer shows them."""
    created = {"id": str(batch.id), "name": batch.name, "status": "pending", "total": len(jobs)}
    return created if brief else created | {"jobs": jobs}


def progress_job(summary: dict[str, Any]) -> dict[str, Any]:
    """One job's line of a batch's progress."""
    restaurant = summary.get("restaurant") or {}
    return {
        "id": str(summary.get("id") or summary.get("job_id")),
        "name": summary.get("name") or restaurant.get("name"),
        "status": summary.get("status"),
        "current_phase": summary.get("current_phase"),
        "waiting_for_capacity": bool(summary.get("waiting_for_capacity")),
    }


@dataclass(frozen=True)
class JobAnswer:
    """GET /jobs/{id}'s answer ready to send: the job's version it shows, its tag, its JSON
    bytes and (when big) gzipped."""

    version: int
    tag: str
    body: bytes
    gzipped: bytes | None

    def response(self, request: web.Request) -> web.Response:
        return json_bytes(request, self.body, self.gzipped)


def job_answer(view: dict[str, Any]) -> JobAnswer:
    """A job with its Step 6 record, in the shape the frontend reads, tagged by its version.

    The progress document is shown as the read model stored it: masked when it was folded.
    """
    progress = view.get("sub_step_progress") or {}
    detail = {k: v for k, v in view.items() if k not in ("sub_step_progress", "organisation_id")}
    step = {"step_number": 6, "status": view.get("status"), "sub_step_progress": progress}
    job = redact(detail) | {"id": str(view.get("id") or view.get("job_id")), "steps": [step]}
    body = dumps({"success": True, "job": job}).encode()
    packed = gzipped(body) if len(body) >= GZIP_FROM_BYTES else None
    version = int(view["version"])
    return JobAnswer(version, etag("job", version), body, packed)


def validation_answer(found: SubStepValidation) -> dict[str, Any]:
    """The validation query's answer: dependencies, dependents and each target's check."""
    return {
        "sub_step": found.sub_step,
        "phase": found.phase,
        "status": str(found.status),
        "job_status": str(found.job_status),
        "editable": found.editable,
        "dependencies": [
            {"sub_step": d, "status": str(s), "satisfied": s in SETTLED_WELL}
            for d, s in found.dependencies.items()
        ],
        "dependents": [{"sub_step": d, "status": str(s)} for d, s in found.dependents.items()],
        "transitions": {
            str(target): {"valid": c.valid, "errors": c.errors, "warnings": c.warnings}
            | ({"cascade": c.cascade} if target == "pending" else {})
            for target, c in found.checks.items()
        },
    }
