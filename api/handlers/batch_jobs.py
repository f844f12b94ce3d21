"""A batch's jobs a page at a time: sealed cursor, status filter and name search."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api import parsing
from api.auth import caller_of
from api.caching import content_tag, not_modified, tagged
from api.page_cursors import JobListing
from api.presenters import ok
from api.schemas.batches import JobsQuery
from api.services import services_of
from projections.overlay import Reads


async def batch_jobs(request: web.Request) -> web.Response:
    """GET /{batchId}/jobs?limit&after&status&q: one page, the next cursor, how many match.

    Tagged by the query and the answer itself: a page is a bounded read, and any change to a
    row on it, to which jobs wait for capacity, to the count or to the next cursor shows in it.
    """
    caller, services = caller_of(request), services_of(request)
    query = parsing.query(request, JobsQuery)
    waiting, cursors = await services.waiting_jobs(), services.page_cursors

    def answer(reads: Reads, summary: dict[str, Any]) -> web.Response:
        listing = JobListing(summary["id"], query.status, query.q)
        after = cursors.position(listing, query.after)
        page = reads.job_page(listing.batch_id, query.limit, after, query.status, query.q)
        jobs = services.waiting_for_capacity(page.jobs, waiting)
        next_after = cursors.cursor(listing, page.last)
        found = ok(jobs=jobs, next_after=next_after, limit=query.limit, total=page.total)
        asked = (listing.batch_id, query.limit, query.after, query.status, query.q)
        tag = content_tag("jobs", asked, found.body if isinstance(found.body, bytes) else b"")
        return not_modified(request, tag) or tagged(found, tag)

    return await services.batch_reads(caller.organisation_id, request.match_info["batchId"], answer)
