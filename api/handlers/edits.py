"""The operator's repair tools: single and bulk edits, reset, validation; each can dry-run."""

from __future__ import annotations

from aiohttp import web

from api import parsing
from api.auth import caller_of
from api.presenters import ok, validation_answer
from api.schemas import BulkEdit, Reset, SubStepEdit
from api.services import services_of


async def edit_sub_step(request: web.Request) -> web.Response:
    """Set one sub-step's status by hand."""
    caller, services = caller_of(request), services_of(request)
    key = parsing.sub_step_key(request)
    data = await parsing.body(request, SubStepEdit)
    outcome = await services.edit(
        caller.organisation_id,
        request.match_info["jobId"],
        [(key, data.status, data.result)],
        caller.actor,
        data.reason or "",
        data.dry_run,
    )
    check = outcome.checks[0]
    return ok(
        sub_step=key,
        status=data.status,
        warnings=check.warnings,
        reset=check.cascade,
        version=outcome.version,
        job_status=outcome.job_status,
        dry_run=outcome.dry_run,
    )


async def edit_sub_steps(request: web.Request) -> web.Response:
    """Apply a list of edits in order, all or none."""
    caller, services = caller_of(request), services_of(request)
    data = await parsing.body(request, BulkEdit)
    edits = [(u.sub_step, u.status, u.result) for u in data.updates]
    outcome = await services.edit(
        caller.organisation_id,
        request.match_info["jobId"],
        edits,
        caller.actor,
        data.combined_reason() or "",
        data.dry_run,
    )
    updates = [
        {"sub_step": c.sub_step, "status": c.target, "warnings": c.warnings, "reset": c.cascade}
        for c in outcome.checks
    ]
    warnings = [w for c in outcome.checks for w in c.warnings]
    return ok(
        updates=updates,
        warnings=warnings,
        version=outcome.version,
        job_status=outcome.job_status,
        dry_run=outcome.dry_run,
    )


async def reset_sub_step(request: web.Request) -> web.Response:
    """Reset a sub-step to pending, with every dependent that is not pending."""
    caller, services = caller_of(request), services_of(request)
    key = parsing.sub_step_key(request)
    data = await parsing.body(request, Reset, optional=True)
    outcome = await services.edit(
        caller.organisation_id,
        request.match_info["jobId"],
        [(key, "pending", None)],
        caller.actor,
        data.reason or "",
        data.dry_run,
    )
    return ok(
        sub_step=key,
        reset=outcome.checks[0].cascade,
        version=outcome.version,
        job_status=outcome.job_status,
        dry_run=outcome.dry_run,
    )


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
