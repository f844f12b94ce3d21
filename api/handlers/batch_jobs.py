"""A batch's jobs a page at a time: cursor, status filter and name search."""

from __future__ import annotations

from aiohttp import web

from api import parsing
from api.auth import caller_of
from api.caching import content_tag, not_modified, tagged
from api.presenters import ok
from api.schemas.batches import JobsQuery
from api.services import services_of


async def batch_jobs(request: web.Request) -> web.Response:
    """GET /{batchId}/jobs?limit&after&status&q: one page, the next cursor, how many match.

    Tagged by the query and the answer itself: a page is a bounded read, and any change to a
    row on it, to which jobs wait for capacity, to the count or to the next cursor shows in it.
    """
    caller, services = caller_of(request), services_of(request)
    query = parsing.query(request, JobsQuery)
    summary = await services.batch_view(caller.organisation_id, request.match_info["batchId"])
    page = await services.run(
        services.views.job_page, summary["id"], query.limit, query.after, query.status, query.q
    )
    jobs = services.waiting_for_capacity(page.jobs, await services.waiting_jobs())
    answer = ok(jobs=jobs, next_after=page.next_after, limit=query.limit, total=page.total)
    asked = (summary["id"], query.limit, query.after, query.status, query.q)
    tag = content_tag("jobs", asked, answer.body if isinstance(answer.body, bytes) else b"")
    return not_modified(request, tag) or tagged(answer, tag)
