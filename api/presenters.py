"""How answers are shown: JSON with secrets redacted, and a job's progress document."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from domain.editing import SubStepValidation
from domain.job import RegistrationJob
from domain.secrets import redact
from domain.status import SETTLED_WELL
from projections.jsontext import dumps


def ok(http_status: int = 200, /, **fields: Any) -> web.Response:
    """A success answer; every field is redacted, whatever it holds."""
    return web.json_response({"success": True, **redact(fields)}, status=http_status, dumps=dumps)


def batch_created(batch: Any, jobs: list[RegistrationJob], brief: bool = False) -> dict[str, Any]:
    """A new batch and its jobs (none when `brief`), as the create answer shows them."""
    created = {"id": str(batch.id), "name": batch.name, "status": "pending", "total": len(jobs)}
    if brief:
        return created
    return created | {
        "jobs": [{"id": str(j.id), "restaurant": j.restaurant, "status": j.status} for j in jobs]
    }


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


def job_answer(view: dict[str, Any]) -> web.Response:
    """A job with its Step 6 record, in the shape the frontend reads.

    The progress document is shown as the read model stored it: masked when it was folded.
    """
    progress = view.get("sub_step_progress") or {}
    detail = {k: v for k, v in view.items() if k not in ("sub_step_progress", "organisation_id")}
    step = {"step_number": 6, "status": view.get("status"), "sub_step_progress": progress}
    job = redact(detail) | {"id": str(view.get("id") or view.get("job_id")), "steps": [step]}
    return web.json_response({"success": True, "job": job}, dumps=dumps)


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
