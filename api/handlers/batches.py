"""Batches: create, list, read, progress, and starting Step 6."""

from __future__ import annotations

import zlib
from typing import Any

from aiohttp import web

from api import parsing
from api.auth import caller_of
from api.caching import etag, not_modified, tagged
from api.page_cursors import BatchListing
from api.presenters import batch_created, ok, progress_job, replayed
from api.progress_hub import COUNTERS
from api.schemas import CreateBatch, StartStep6
from api.schemas.batches import BatchesQuery, BatchQuery, CreateOptions
from api.services import services_of
from api.uploads import BATCH_SETTING, UPLOAD_TYPES, batch_input
from projections.overlay import Reads

SETTLE_SECONDS_PER_JOB = 0.002  # the views fold a new job in well under 1 ms; leave room


async def create_batch(request: web.Request) -> web.Response:
    """Create a batch with one pending job per restaurant; with an `Idempotency-Key` header,
    once per key (a repeat answers the batch it created, marked `Idempotent-Replayed`)."""
    caller, services = caller_of(request), services_of(request)
    options = parsing.query(request, CreateOptions)
    parsing.refuse_command_parameters(request, CreateBatch, CreateOptions)
    raw = await parsing.raw_body(request, services.settings.max_batch_bytes, BATCH_SETTING)
    content_type = parsing.body_type(request, raw, UPLOAD_TYPES)
    name, restaurants, labels = await services.run(batch_input, content_type, raw, options.name)
    opened = await services.run(
        services.app.open_batch,
        caller.organisation_id,
        caller.actor,
        name,
        restaurants,
        labels,
        parsing.idempotency_key(request),
    )
    settle = services.settle_timeout + len(opened.jobs) * SETTLE_SECONDS_PER_JOB
    await services.settle(opened.position, settle)
    answer = ok(201, batch=batch_created(opened.batch, opened.jobs, options.brief))
    return replayed(answer, opened.replayed)


async def list_batches(request: web.Request) -> web.Response:
    """The organisation's batches, newest first, a page at a time."""
    caller, services = caller_of(request), services_of(request)
    query = parsing.query(request, BatchesQuery)
    org, cursors = caller.organisation_id, services.page_cursors
    listing = BatchListing(org)
    after = cursors.position(listing, query.after)
    page = await services.organisation_reads(
        org, lambda reads: reads.batch_page(org, query.limit, query.offset, after)
    )
    next_after = cursors.cursor(listing, page.last)
    return ok(batches=page.batches, next_after=next_after, limit=query.limit, offset=query.offset)


async def get_batch(request: web.Request) -> web.Response:
    """One batch with its jobs' summaries (brief: without them), the sub-step counts of all its
    jobs, and how many of its jobs wait for registration API capacity."""
    caller, services = caller_of(request), services_of(request)
    options = parsing.query(request, BatchQuery)
    waiting_jobs = await services.waiting_jobs()

    def answer(reads: Reads, summary: dict[str, Any]) -> web.Response:
        batch_id = summary["id"]
        if options.brief:
            waiting = services.waiting_in(reads, batch_id, waiting_jobs)
            marks = (summary["updated_at"], summary["status"], summary["total"], waiting)
            tag = etag("brief", ".".join(map(str, marks)))
        else:
            tag = etag("batch", _content_token(reads, batch_id, waiting_jobs))
        if unchanged := not_modified(request, tag):
            return unchanged
        sub_steps = reads.batch_sub_steps(batch_id)
        if options.brief:
            extra: dict[str, object] = {"waiting_for_capacity": waiting}
        else:
            jobs = services.waiting_for_capacity(reads.job_summaries(batch_id), waiting_jobs)
            extra = {
                "jobs": jobs,
                "waiting_for_capacity": sum(j["waiting_for_capacity"] for j in jobs),
            }
        return tagged(ok(batch=summary | {"sub_steps": sub_steps} | extra), tag)

    return await services.batch_reads(caller.organisation_id, request.match_info["batchId"], answer)


async def batch_progress(request: web.Request) -> web.Response:
    """Exact counters of a batch, the sub-step counts of all its jobs, and each job's status
    and phase."""
    caller, services = caller_of(request), services_of(request)
    waiting_jobs = await services.waiting_jobs()

    def answer(reads: Reads, summary: dict[str, Any]) -> web.Response:
        tag = etag("progress", _content_token(reads, summary["id"], waiting_jobs))
        if unchanged := not_modified(request, tag):
            return unchanged
        jobs = services.waiting_for_capacity(reads.job_summaries(summary["id"]), waiting_jobs)
        counters = {k: summary.get(k) for k in (*COUNTERS, "percent")}
        waiting = sum(j["waiting_for_capacity"] for j in jobs)
        progress = [progress_job(j) for j in jobs]
        sub_steps = reads.batch_sub_steps(summary["id"])
        found = ok(
            batch_id=summary["id"],
            **counters,
            sub_steps=sub_steps,
            waiting_for_capacity=waiting,
            jobs=progress,
        )
        return tagged(found, tag)

    return await services.batch_reads(caller.organisation_id, request.match_info["batchId"], answer)


def _content_token(reads: Reads, batch_id: str, waiting: frozenset[str]) -> str:
    """Changes when the batch's jobs change, or when which jobs wait for API capacity does."""
    versions = reads.batch_tag(batch_id)
    return f"{versions}.{zlib.crc32(','.join(sorted(waiting)).encode()):x}"


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
    return ok(
        202,
        started=outcome.started,
        already_started=outcome.already_started,
        left_cancelled=outcome.left_cancelled,
    )
