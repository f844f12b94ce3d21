"""The registration API in-process: faults per call, idempotency, and a ledger to check."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from domain.failures import NO_TITLE_PAGE
from domain.plan import PLAN
from infrastructure.engine.leases import TABLE as LEASES
from infrastructure.engine.leases import SqliteLeases
from infrastructure.executors.port import CallOutcome, SubStepCall
from infrastructure.executors.simulator.answers import Request, success_answer
from simulation.loop import EPOCH, SimulatedClock

TRANSIENT = ("503", "520", "timeout", "429")


@dataclass
class ApiFaults:
    """Faults planned per (job, sub-step): transient ones in order, and permanent refusals."""

    transient: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    permanent: set[tuple[str, str]] = field(default_factory=set)
    outages: list[tuple[float, float]] = field(default_factory=list)
    enabled: bool = True


class SimulatedApi:
    """Answers calls after a latency; executes each idempotency key at most once."""

    def __init__(self, faults: ApiFaults, rng: random.Random, clock: SimulatedClock) -> None:
        self.faults = faults
        self.rng = rng
        self.clock = clock
        self.answers: dict[str, dict[str, object]] = {}
        self.executions: Counter[str] = Counter()
        self.in_flight: Counter[tuple[str, str]] = Counter()
        self.overlaps: list[str] = []
        self.stale_calls: list[str] = []
        self.calls = 0
        self.attempts_made: set[tuple[str, str, int]] = set()  # (job, sub-step, attempt)

    def _down(self) -> bool:
        now = self.clock.monotonic()
        return self.faults.enabled and any(a <= now < b for a, b in self.faults.outages)

    def _fault(self, call: SubStepCall) -> str | None:
        """The fault of this call; a permanent refusal outlasts the chaos (it is in the data)."""
        where = (call.job_id, call.sub_step)
        if not self.faults.enabled:
            return "400" if where in self.faults.permanent else None
        if self._down():
            return "503"
        if where in self.faults.permanent:
            return "400"
        planned = self.faults.transient.get(where)
        return planned.pop(0) if planned else None

    async def serve(self, call: SubStepCall, fault: str | None) -> CallOutcome:
        """The server side of one call: runs to its end even when the caller is gone."""
        where = (call.job_id, call.sub_step)
        if self.in_flight[where]:
            self.overlaps.append(f"{call.sub_step} of job {call.job_id} at t={self.clock.now()}")
        self.in_flight[where] += 1
        try:
            await asyncio.sleep(self.rng.uniform(0.05, 3.0))
            if fault is not None:
                return _failure(fault, self.rng)
            key = call.idempotency_key
            if key not in self.answers:
                self.executions[key] += 1
                answer = success_answer(
                    PLAN.sub_step(call.sub_step), Request(key, call.payload, {})
                )
                now = self.clock.now().isoformat()
                self.answers[key] = {
                    k: now if k.endswith("At") else v for k, v in answer.items() if k != "success"
                }
            return CallOutcome(ok=True, result=dict(self.answers[key]), status=200)
        finally:
            self.in_flight[where] -= 1


def _failure(fault: str, rng: random.Random) -> CallOutcome:
    if fault == "400":
        return CallOutcome(ok=False, error="HTTP 400: invalid restaurant", status=400)
    if fault == "429":
        wait = float(rng.randint(1, 10))
        return CallOutcome(
            ok=False, error="HTTP 429: slow down", transient=True, retry_after=wait, status=429
        )
    if fault == "520":
        return CallOutcome(ok=False, error=NO_TITLE_PAGE, transient=True, status=520)
    return CallOutcome(ok=False, error="HTTP 503: unavailable", transient=True, status=503)


class ApiClient:
    """One worker's executor: a timeout fault never reaches the server.

    It also notes a call made by a worker that does not hold a live lease on the job.
    """

    def __init__(self, api: SimulatedApi, worker_id: str, leases: SqliteLeases) -> None:
        self.api = api
        self.worker_id = worker_id
        self.leases = leases

    def _check_lease(self, call: SubStepCall) -> None:
        sql = f"SELECT worker_id, expires_at FROM {LEASES} WHERE job_id = ?"
        rows: list[Any] = self.leases._run(sql, (call.job_id,))
        now = self.api.clock.now().timestamp()
        if not rows or rows[0][0] != self.worker_id or rows[0][1] <= now:
            held = (
                f"held by {rows[0][0]} until t={rows[0][1] - EPOCH.timestamp():.1f}s"
                if rows
                else "not held"
            )
            self.api.stale_calls.append(
                f"{self.worker_id} called {call.sub_step} of job {call.job_id} "
                f"at t={self.api.clock.monotonic():.1f}s, its lease {held}"
            )

    async def call(self, call: SubStepCall) -> CallOutcome:
        self._check_lease(call)
        self.api.calls += 1
        self.api.attempts_made.add((call.job_id, call.sub_step, call.attempt))
        fault = self.api._fault(call)
        if fault == "timeout":
            await asyncio.sleep(call.timeout)
            raise TimeoutError(f"no answer in {call.timeout}s")
        server = asyncio.ensure_future(self.api.serve(call, fault))
        return await asyncio.shield(server)

    async def close(self) -> None:
        return None
