"""A batch's progress as Server-Sent Events, and the short-lived tickets that open it."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from api.auth import caller_of
from api.parsing import query
from api.presenters import ok_as_declared
from api.progress_hub import HUB, Counters, counters_of
from api.schemas.batches import StreamQuery
from api.services import services_of
from api.stream_tokens import QUERY_NAME, TICKET_ANSWER, TICKET_SECONDS, TICKETS
from projections.overlay import Reads

KEEPALIVE_SECONDS = 15.0
EVENT_STREAM = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


async def stream_ticket(request: web.Request) -> web.Response:
    """POST /{batchId}/stream-token: a ticket for this batch's stream, valid for a minute."""
    caller, services = caller_of(request), services_of(request)
    await services.batch_reads(caller.organisation_id, request.match_info["batchId"], _known)
    path = request.path.rstrip("/").removesuffix("-token")
    ticket = request.app[TICKETS].issue(caller, path)
    url = f"{path}?{QUERY_NAME}={ticket}"
    return ok_as_declared(TICKET_ANSWER, token=ticket, expires_in=TICKET_SECONDS, url=url)


def _known(_reads: Reads, _summary: dict[str, Any]) -> None:
    """Nothing more than that the batch is the caller's."""


def _event(counters: Counters) -> bytes:
    return f"event: progress\ndata: {json.dumps(counters)}\n\n".encode()


async def stream_batch(request: web.Request) -> web.StreamResponse:
    """GET /{batchId}/stream: the counters now, then each time they change."""
    query(request, StreamQuery)  # read by the auth middleware; here refused if malformed
    caller, services = caller_of(request), services_of(request)
    waiting = await services.waiting_jobs()
    current = counters_of(
        await services.batch_reads(
            caller.organisation_id,
            request.match_info["batchId"],
            lambda reads, summary: services.counters(reads, summary, waiting),
        )
    )
    response = web.StreamResponse(headers=EVENT_STREAM)
    try:  # a client may have gone while its counters were read: then nothing can be sent
        await response.prepare(request)
        await response.write(b"retry: 2000\n\n" + _event(current))
        async with request.app[HUB].subscribe(current["batch_id"], current) as subscription:
            while not subscription.closed:
                counters = await subscription.next(KEEPALIVE_SECONDS)
                if subscription.closed:
                    break
                await response.write(_event(counters) if counters else b": keep-alive\n\n")
    except ConnectionResetError:
        pass
    return response
