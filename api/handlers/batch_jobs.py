"""A batch's jobs a page at a time: cursor, status filter and name search."""

from __future__ import annotations

from aiohttp import web

from api import parsing
from api.auth import caller_of
from api.presenters import ok
from api.schemas.batches import JobsQuery
from api.services import services_of


async def batch_jobs(request: web.Request) -> web.Response:
    """GET /{batchId}/jobs?limit&after&status&q: one page, the next cursor, how many match."""
    caller, services = caller_of(request), services_of(request)
    query = parsing.query(request, JobsQuery)
    summary = await services.batch_view(caller.organisation_id, request.match_info["batchId"])
    page = await services.run(
        services.views.job_page, summary["id"], query.limit, query.after, query.status, query.q
    )
    jobs = services.waiting_for_capacity(page.jobs)
    return ok(jobs=jobs, next_after=page.next_after, limit=query.limit, total=page.total)
