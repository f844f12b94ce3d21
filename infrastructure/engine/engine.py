"""The Step 6 engine: finds in-progress jobs, leases them, and runs each with a JobRunner."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from domain.retry import RetryPolicy
from infrastructure import metrics
from infrastructure.engine.circuit import CircuitBreaker
from infrastructure.engine.flow_control import open_flow
from infrastructure.engine.identity import WorkerIdentity, hold_worker_id
from infrastructure.engine.leases import Leases, open_leases
from infrastructure.engine.runner import JobRunner
from infrastructure.engine.shared import Shared
from infrastructure.engine.storage import GroupCommitter, StoreGateway
from infrastructure.engine.work_source import LogWorkSource, WorkSource
from infrastructure.executors.port import Executor
from infrastructure.flow.control import FlowControl
from infrastructure.settings import Settings
from infrastructure.usecases.store import RegistrationStore

log = logging.getLogger("regflow.engine")
POLL_SECONDS = 0.5
SKIP_SETTLED_SECONDS = 5.0


async def wait_for_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set or `timeout` passes; True when it is set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait([waiter], timeout=timeout)
    finally:
        waiter.cancel()
    return event.is_set()


class Engine:
    """Runs Step 6 of every in-progress job this worker can lease, within bounded concurrency."""

    def __init__(
        self,
        app: RegistrationStore,
        executor: Executor,
        settings: Settings,
        *,
        work_source: WorkSource | None = None,
        leases: Leases | None = None,
        identity: WorkerIdentity | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random.random,
        policies: dict[str, RetryPolicy] | None = None,
        circuit: CircuitBreaker | None = None,
        poll_seconds: float = POLL_SECONDS,
        registration_api: str | None = None,
        flow: FlowControl | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.identity = identity or hold_worker_id(settings)
        self.worker_id = self.identity.worker_id
        self.work_source = work_source or LogWorkSource(app)
        self.leases = leases or open_leases(settings, self.identity.incarnation)
        self._identity_held = True
        self.poll_seconds = poll_seconds
        gateway = StoreGateway(app)
        self.shared = Shared(
            gateway=gateway,
            committer=GroupCommitter(gateway),
            executor=executor,
            circuit=circuit or CircuitBreaker(clock=clock, sleep=sleep),
            worker_id=self.worker_id,
            clock=clock,
            sleep=sleep,
            random=random,
            policies=dict(policies or {}),
            check_interval=settings.lease_seconds / 3,
            registration_api=registration_api,
            flow=flow or open_flow(settings, self.worker_id),
        )
        self.runners: dict[str, JobRunner] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runs: set[asyncio.Task[Any]] = set()
        self._settled: dict[str, float] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self.outcomes: dict[str, int] = {}
        self._closing = False

    async def start(self) -> None:
        """Start finding, leasing and running jobs in the background."""
        for loop in (self.shared.committer.run(), self._discover_forever(), self._renew_forever()):
            self._spawn(loop)

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def wake(self, job_ids: Iterable[object] = ()) -> None:
        """A hint that these jobs changed (started, resumed, cancelled, retry-now)."""
        for job_id in map(str, job_ids):
            self._settled.pop(job_id, None)
            if job_id in self.runners:
                self.runners[job_id].wake()
        self._wakeup.set()

    async def _discover_forever(self) -> None:
        while not self._closing:
            try:
                await self._discover()
            except Exception:
                log.exception("looking for work failed; trying again")
            await wait_for_event(self._wakeup, self.poll_seconds)
            self._wakeup.clear()

    async def _discover(self) -> None:
        if self.shared.stopping.is_set() or not self._identity_held:
            return
        free = self.settings.max_concurrent_jobs - len(self.runners)
        limit = 1000 + len(self.runners)
        found = await self.shared.gateway.run(self.work_source.runnable_job_ids, limit)
        now = time.monotonic()
        self._settled = {j: t for j, t in self._settled.items() if t > now}
        fresh = [j for j in found if j not in self.runners and j not in self._settled]
        if not found and not self.runners:
            self._idle.set()
        if free <= 0 or not fresh:
            return
        busy = await self.shared.gateway.run(self.leases.busy, fresh, self.worker_id)
        for job_id in (j for j in fresh if j not in busy):
            if free <= 0 or self.shared.stopping.is_set():
                return
            if await self._claim(job_id):
                free -= 1

    async def _claim(self, job_id: str) -> bool:
        seconds = self.settings.lease_seconds
        claim = self.leases.claim
        if not await self.shared.gateway.run(claim, job_id, self.worker_id, seconds):
            return False
        runner = self.runners[job_id] = JobRunner(self.shared, job_id)
        metrics.jobs_running.set(len(self.runners))
        self._idle.clear()
        run = self._spawn(self._run(runner))
        self._runs.add(run)
        run.add_done_callback(self._runs.discard)
        return True

    async def _run(self, runner: JobRunner) -> None:
        ended = "error"
        try:
            ended = await runner.run()
        except Exception:
            log.exception("job %s: runner failed; releasing it for another attempt", runner.job_id)
        finally:
            self.runners.pop(runner.job_id, None)
            metrics.jobs_running.set(len(self.runners))
            self.outcomes[ended] = self.outcomes.get(ended, 0) + 1
            if ended != "lost":
                await self._release(runner.job_id)
            if ended not in ("stopped", "lost", "error"):
                self._settled[runner.job_id] = time.monotonic() + SKIP_SETTLED_SECONDS
            self._wakeup.set()

    async def _release(self, job_id: str) -> None:
        try:
            await self.shared.gateway.run(self.leases.release, [job_id], self.worker_id)
        except Exception as exc:
            log.warning("job %s: lease not released (%s); it will expire", job_id, exc)

    async def _renew_forever(self) -> None:
        last_renewed = time.monotonic()
        while not self._closing:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            held = list(self.runners)
            try:
                await self._check_identity()
                kept = await self.shared.gateway.run(
                    self.leases.renew, held, self.worker_id, self.settings.lease_seconds
                )
                kept = kept if self._identity_held else set()
            except Exception as exc:
                log.warning("lease renewal failed: %s", exc)
                if time.monotonic() - last_renewed > self.settings.lease_seconds * 0.8:
                    kept = set()
                else:
                    continue
            last_renewed = time.monotonic() if kept or not held else last_renewed
            for job_id in held:
                if job_id not in kept and job_id in self.runners:
                    self.runners[job_id].lose()

    async def _check_identity(self) -> None:
        """Stop running jobs while another live process may hold this worker id."""
        held = await self.shared.gateway.run(self.identity.holds)
        if held != self._identity_held:
            if held:
                log.info("worker id %s held again; looking for work", self.worker_id)
            else:
                log.error("worker id %s is no longer held here; stopping its jobs", self.worker_id)
        self._identity_held = held

    async def run_until_idle(self, timeout: float) -> bool:
        """Wait until no job is in progress or running here; False on timeout."""
        self._idle.clear()
        self._wakeup.set()
        return await wait_for_event(self._idle, timeout)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop scheduling, let calls in flight be recorded (up to `grace`), release leases."""
        self.shared.stopping.set()
        for runner in list(self.runners.values()):
            runner.wake()
        if self._runs:
            await asyncio.wait(list(self._runs), timeout=grace)
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.shared.flow.close()
        self.shared.gateway.close()
        self.leases.close()
        self.identity.release()

    def status(self) -> dict[str, Any]:
        """A snapshot: jobs running, calls in flight, circuit state, commits."""
        circuit = self.shared.circuit
        return {
            "worker_id": self.worker_id,
            "jobs_running": len(self.runners),
            "calls_in_flight": self.shared.calls_in_flight,
            "circuit": str(circuit.state),
            "consecutive_transient_errors": circuit.failures,
            "commits": self.shared.committer.commits,
            "events_committed": self.shared.committer.events,
            "runs_ended": dict(self.outcomes),
            "flow": self.shared.flow.snapshot(),
        }
