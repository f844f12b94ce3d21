"""The operator's repair tools: single and bulk edits, reset, validation; each can dry-run."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from api import parsing
from api.auth import caller_of
from api.caching import etag, versions_read
from api.presenters import ok, replayed, validation_answer
from api.schemas import BulkEdit, Reset, SubStepEdit
from api.services import services_of
from domain.exceptions import RegflowError, SubStepNotFound, UnknownSubStepsEdited
from infrastructure.usecases.editing import EditOutcome

Edits = list[tuple[str, str, dict[str, Any] | None]]


async def _edit(
    request: web.Request,
    edits: Edits,
    reason: str | None,
    dry_run: bool,
    item_reasons: list[str | None] | None = None,
) -> EditOutcome:
    """The caller's edits of the job the path names: recorded (once per Idempotency-Key, if
    one is sent), or only checked in a dry run; each with its own reason when it has one; with
    an If-Match, only on the job's version it names."""
    caller, services = caller_of(request), services_of(request)
    job_id = request.match_info["jobId"]
    key = parsing.idempotency_key(request)
    org, actor = caller.organisation_id, caller.actor
    required = versions_read(request)
    return await services.edit(
        org, job_id, edits, actor, reason or "", dry_run, key, item_reasons or [], required
    )


def _answer(outcome: EditOutcome, **fields: Any) -> web.Response:
    """The edit's answer: what it did, then the job's version and status after it (a repeat
    of an earlier request's key: what that request did, and the job's version and status now,
    marked Idempotent-Replayed). Its ETag is the job's at that version, for the next edit's
    If-Match."""
    answer = ok(
        **fields,
        version=outcome.version,
        job_status=outcome.job_status,
        dry_run=outcome.dry_run,
    )
    answer.headers["ETag"] = etag("job", outcome.version)
    return replayed(answer, outcome.replayed)


async def _edit_named(
    request: web.Request, key: str, target: str, result: Any, reason: str | None, dry_run: bool
) -> EditOutcome:
    """One edit of the sub-step the path names. One the plan does not have is refused, and
    the refusal audited, as in a bulk edit; answered 404, as every path naming nothing is."""
    try:
        return await _edit(request, [(key, target, result)], reason, dry_run)
    except UnknownSubStepsEdited:
        raise SubStepNotFound(key) from None


async def _named_body(
    request: web.Request, model: type[parsing.M], optional: bool = False
) -> parsing.M:
    """The body of an edit of the sub-step the path names. A body that cannot be read is
    answered 404 if the path names no sub-step, as every path naming nothing is; a readable
    one's edit of an unknown sub-step is refused and audited by `_edit_named`."""
    try:
        return await parsing.body(request, model, optional=optional)
    except (RegflowError, ValidationError):  # the body's refusals: 400, 413, 415, 422
        parsing.sub_step_key(request)
        raise


async def edit_sub_step(request: web.Request) -> web.Response:
    """Set one sub-step's status by hand."""
    key = request.match_info["subStepKey"]
    data = await _named_body(request, SubStepEdit)
    outcome = await _edit_named(request, key, data.status, data.result, data.reason, data.dry_run)
    check = outcome.checks[0]
    return _answer(
        outcome, sub_step=key, status=data.status, warnings=check.warnings, reset=check.cascade
    )


async def edit_sub_steps(request: web.Request) -> web.Response:
    """Apply a list of edits in order, all or none."""
    data = await parsing.body(request, BulkEdit)
    edits: Edits = [(u.sub_step, u.status, u.result) for u in data.updates]
    reasons = [u.reason for u in data.updates]
    outcome = await _edit(request, edits, data.combined_reason(), data.dry_run, reasons)
    updates = [
        {"sub_step": c.sub_step, "status": c.target, "warnings": c.warnings, "reset": c.cascade}
        for c in outcome.checks
    ]
    warnings = [w for c in outcome.checks for w in c.warnings]
    return _answer(outcome, updates=updates, warnings=warnings)


async def reset_sub_step(request: web.Request) -> web.Response:
    """Reset a sub-step to pending, with every dependent that is not pending."""
    key = request.match_info["subStepKey"]
    data = await _named_body(request, Reset, optional=True)
    outcome = await _edit_named(request, key, "pending", None, data.reason, data.dry_run)
    check = outcome.checks[0]
    return _answer(outcome, sub_step=key, warnings=check.warnings, reset=check.cascade)


async def validation(request: web.Request) -> web.Response:
    """Which edits of a sub-step are allowed now, and what each would do."""
    caller, services = caller_of(request), services_of(request)
    found = await services.run(
        services.app.validation,
        caller.organisation_id,
        request.match_info["jobId"],
        parsing.sub_step_key(request),
    )
    return ok(**validation_answer(found))
