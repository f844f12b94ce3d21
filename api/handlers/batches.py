"""Batches: create, list, read, progress, and starting Step 6."""

from __future__ import annotations

from aiohttp import web

from api import parsing
from api.auth import caller_of
from api.presenters import batch_created, ok, progress_job
from api.schemas import CreateBatch, Page, StartStep6
from api.services import services_of

COUNTERS = ("status", "total", "completed", "failed", "in_progress", "pending", "percent")


async def create_batch(request: web.Request) -> web.Response:
    """Create a batch with one pending job per restaurant."""
    caller, services = caller_of(request), services_of(request)
    data = await parsing.body(request, CreateBatch)
    restaurants = [r.model_dump(exclude_none=True) for r in data.restaurants]
    batch, jobs, saved = await services.run(
        services.app.create_batch, caller.organisation_id, caller.actor, data.name, restaurants
    )
    await services.settle(saved.position)
    return ok(201, batch=batch_created(batch, jobs))


async def list_batches(request: web.Request) -> web.Response:
    """The organisation's batches, newest first."""
    caller, services = caller_of(request), services_of(request)
    page = parsing.query(request, Page)
    batches = await services.run(
        services.views.list_batches, caller.organisation_id, page.limit, page.offset
    )
    return ok(batches=list(batches), limit=page.limit, offset=page.offset)


async def get_batch(request: web.Request) -> web.Response:
    """One batch with its jobs' summaries."""
    caller, services = caller_of(request), services_of(request)
    summary = await services.batch_view(caller.organisation_id, request.match_info["batchId"])
    jobs = services.waiting_for_capacity(
        await services.run(services.views.job_summaries, summary["id"])
    )
    waiting = sum(j["waiting_for_capacity"] for j in jobs)
    return ok(batch=summary | {"jobs": jobs, "waiting_for_capacity": waiting})


async def batch_progress(request: web.Request) -> web.Response:
    """Exact counters of a batch and each job's status and phase."""
    caller, services = caller_of(request), services_of(request)
    summary = await services.batch_view(caller.organisation_id, request.match_info["batchId"])
    jobs = services.waiting_for_capacity(
        await services.run(services.views.job_summaries, summary["id"])
    )
    counters = {k: summary.get(k) for k in COUNTERS}
    waiting = sum(j["waiting_for_capacity"] for j in jobs)
    progress = [progress_job(j) for j in jobs]
    return ok(batch_id=summary["id"], **counters, waiting_for_capacity=waiting, jobs=progress)


async def start_step6(request: web.Request) -> web.Response:
    """Start Step 6 for every job of the batch, or the selected ones."""
    caller, services = caller_of(request), services_of(request)
    data = await parsing.body(request, StartStep6, optional=True)
    outcome = await services.run(
        services.app.start_step6,
        caller.organisation_id,
        request.match_info["batchId"],
        data.job_ids,
        caller.actor,
    )
    await services.settle(outcome.position)
    services.wake(outcome.started)
    return ok(202, started=outcome.started, already_started=outcome.already_started)
