"""Jobs: detail, resume, cancel, retry-now, and the job's history."""

from __future__ import annotations

from aiohttp import web

from api import parsing
from api.auth import caller_of
from api.caching import etag, not_modified, tagged, versions_read
from api.errors import BadRequest
from api.presenters import EVENTS_ANSWER, ok, ok_as_declared
from api.schemas import EventsQuery, Reasoned, Resume, StateQuery
from api.services import services_of
from projections.folds.jobs import job_state

COMPLETED_NO_OP = "Job already completed; nothing to resume"
DRY_RUN = "Dry run: this is what a resume would do; nothing was recorded"


async def get_job(request: web.Request) -> web.Response:
    """A job with its Step 6 `sub_step_progress`."""
    caller, services = caller_of(request), services_of(request)
    answer = await services.job_answer(caller.organisation_id, request.match_info["jobId"])
    return not_modified(request, answer.tag) or tagged(answer.response(request), answer.tag)


async def resume(request: web.Request) -> web.Response:
    """Resume a stopped job: `resuming_from` is the last complete phase, `resume_plan` what runs."""
    caller, services = caller_of(request), services_of(request)
    job_id = request.match_info["jobId"]
    data = await parsing.body(request, Resume, optional=True)
    plan, saved, changed = await services.run(
        services.app.resume,
        caller.organisation_id,
        job_id,
        caller.actor,
        data.reason,
        data.dry_run,
        versions_read(request),
    )
    if data.dry_run:
        return ok(message=DRY_RUN, **plan.as_answer(), dry_run=True)
    if not changed:
        return ok(message=COMPLETED_NO_OP, **plan.as_answer(), dry_run=False)
    await services.settle(saved.position)
    services.wake([job_id])
    return ok(message="Resume initiated", **plan.as_answer(), dry_run=False)


async def cancel(request: web.Request) -> web.Response:
    """Stop scheduling the job's sub-steps."""
    caller, services = caller_of(request), services_of(request)
    data = await parsing.body(request, Reasoned, optional=True)
    saved = await services.run(
        services.app.cancel,
        caller.organisation_id,
        request.match_info["jobId"],
        caller.actor,
        data.reason,
        versions_read(request),
    )
    await services.settle(saved.position)
    answer = ok(message="Job cancelled", version=saved.version)
    answer.headers["ETag"] = etag("job", saved.version)
    return answer


async def retry_now(request: web.Request) -> web.Response:
    """Cut short a sub-step's wait before its next attempt."""
    caller, services = caller_of(request), services_of(request)
    job_id, key = request.match_info["jobId"], parsing.sub_step_key(request)
    data = await parsing.body(request, Reasoned, optional=True)
    saved = await services.run(
        services.app.retry_now,
        caller.organisation_id,
        job_id,
        key,
        caller.actor,
        data.reason,
        versions_read(request),
    )
    await services.settle(saved.position)
    services.wake([job_id])
    answer = ok(sub_step=key, version=saved.version)
    answer.headers["ETag"] = etag("job", saved.version)
    return answer


async def events(request: web.Request) -> web.Response:
    """The job's audit timeline, a page at a time, secrets redacted."""
    caller, services = caller_of(request), services_of(request)
    page = parsing.query(request, EventsQuery)
    job_id = request.match_info["jobId"]
    found = await services.job_events(
        caller.organisation_id, job_id, page.after_version, page.limit
    )
    following = found[-1]["version"] if found else page.after_version
    return ok_as_declared(EVENTS_ANSWER, events=found, next_after_version=following)


async def state(request: web.Request) -> web.Response:
    """The job's state and context as they were at a time or version."""
    caller, services = caller_of(request), services_of(request)
    wanted = parsing.query(request, StateQuery)
    if wanted.at is not None and wanted.version is not None:
        raise BadRequest("Give at or version, not both", ["at, version: give only one of them"])
    job = await services.run(
        services.app.job_as_of,
        request.match_info["jobId"],
        caller.organisation_id,
        wanted.at,
        wanted.version,
    )
    return ok(**job_state(job))
