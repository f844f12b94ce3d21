"""How the simulator serves one sub-step call: capacity, latency, faults, idempotent replays, and
the record of calls received."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from domain.plan import SubStep
from infrastructure.executors.simulator.answers import Request, success_answer
from infrastructure.executors.simulator.calls import CallRecord, parse_key
from infrastructure.executors.simulator.faults import (
    FaultBook,
    FaultSettings,
    SimulatorConfig,
    fault_response,
    latency_of,
    over_capacity,
)
from infrastructure.executors.simulator.windows import AnswerWindow, CallWindow


class Simulator:
    """The simulated API's state: faults, latency, answers stored by key, calls received."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.service_key = config.service_key
        self.faults = FaultBook(config.faults)
        self.latency: dict[str, float] = dict(config.latency or {})
        self.capacity = config.capacity
        self.in_flight = 0
        self.peak_in_flight = 0
        self._serving = 0
        # Bounded: a long-running embedded simulator keeps the latest calls and answers only.
        self.answers = AnswerWindow(config.keep_answers)
        self.calls = CallWindow(config.keep_calls)
        self.stopping = asyncio.Event()
        self._in_flight: dict[str, asyncio.Event] = {}

    def configure(self, settings: FaultSettings) -> None:
        """Replace the fault rules (counts start again) and, if given, the latencies."""
        self.faults = FaultBook(settings.faults)
        self.capacity = settings.capacity
        if settings.latency is not None:
            self.latency = dict(settings.latency)

    async def serve(self, request: web.Request, step: SubStep) -> web.StreamResponse:
        """Answer one call of `step`, recording it from arrival to answer."""
        record = _record_of(request, step)
        self.calls.begin(record)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            response = await self._within_capacity(request, step, record)
            record.status = response.status
        finally:
            self.in_flight -= 1
            record.finished = time.monotonic()
            self.calls.finish(record)
        return response

    async def _within_capacity(
        self, request: web.Request, step: SubStep, record: CallRecord
    ) -> web.StreamResponse:
        capacity = self.capacity
        if capacity is not None and self._serving >= capacity.limit:
            record.fault = "capacity"
            return over_capacity(capacity)
        self._serving += 1
        try:
            return await self._answer(request, step, record)
        finally:
            self._serving -= 1

    async def _answer(
        self, request: web.Request, step: SubStep, record: CallRecord
    ) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None or record.key is None:
            return refusal or _json(400, "The Idempotency-Key header is required")
        if (kept := self.answers.get(record.key)) is not None:
            return self._replay(record, kept)
        payload = await _payload(request)
        if payload is None:
            return _json(400, "The body must be a JSON object")
        rule = self.faults.draw(step, request.path, record.job)
        if rule is not None:
            record.fault = rule.kind
            await asyncio.sleep(latency_of(self.latency, step))
            return await fault_response(rule, self.stopping)
        answer = Request(record.key, payload, request.match_info)
        return await self._execute_once(step, answer, record)

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self.service_key and request.headers.get("X-Service-Key") != self.service_key:
            return _json(401, "Invalid or missing X-Service-Key")
        return None

    def _replay(self, record: CallRecord, answer: str) -> web.Response:
        record.replay = True
        return web.json_response(text=answer)

    async def _execute_once(
        self, step: SubStep, request: Request, record: CallRecord
    ) -> web.Response:
        while (first := self._in_flight.get(request.key)) is not None:
            await first.wait()
        if (kept := self.answers.get(request.key)) is not None:
            return self._replay(record, kept)
        done = self._in_flight[request.key] = asyncio.Event()
        try:
            await asyncio.sleep(latency_of(self.latency, step))
            answer = json.dumps(success_answer(step, request))
            self.answers.remember(request.key, answer)
            record.executed = True
        finally:
            del self._in_flight[request.key]
            done.set()
        return web.json_response(text=answer)


def _record_of(request: web.Request, step: SubStep) -> CallRecord:
    key = request.headers.get("Idempotency-Key", "").strip() or None
    job, sub_step, generation = parse_key(key) if key else (None, None, None)
    return CallRecord(
        key=key,
        endpoint=request.path,
        job=request.headers.get("X-Job-Id") or job,
        sub_step=sub_step or step.key,
        generation=generation,
        started=time.monotonic(),
        organisation=request.headers.get("X-Organisation-ID"),
        traceparent=request.headers.get("traceparent"),
    )


async def _payload(request: web.Request) -> dict[str, Any] | None:
    if not request.can_read_body:
        return {}
    try:
        payload = await request.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _json(status: int, message: str) -> web.Response:
    return web.json_response({"success": False, "message": message}, status=status)
