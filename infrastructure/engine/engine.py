"""The Step 6 engine: finds in-progress jobs, leases them, and runs each with a JobRunner; takes
the leases dead workers left of stopped jobs, whose calls in flight its runs record interrupted.

`Engine` is one class a little over 200 lines: finding, claiming, running and stopping share its
runners, tasks and memory of settled jobs, so they stay together; leases, their renewal, the
watch over the worker id, the quarantine, storage and the work source are modules of their own.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from itertools import islice
from typing import Any

from domain.outcomes import RunEnd
from domain.retry import RetryPolicy
from infrastructure import metrics
from infrastructure.engine.circuit import CircuitBreaker
from infrastructure.engine.clock import SYSTEM_CLOCK, Clock, wait_all, wait_for_event
from infrastructure.engine.complaints import Complaints, complain
from infrastructure.engine.erasures import ErasureWatch
from infrastructure.engine.flow_control import open_flow
from infrastructure.engine.identity import WorkerIdentity, hold_worker_id
from infrastructure.engine.identity_watch import check_identity
from infrastructure.engine.leases import Leases, open_leases
from infrastructure.engine.quarantine import Quarantine
from infrastructure.engine.renewal import GIVE_UP_FRACTION, renew_forever
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
CLAIM_LOOKAHEAD = 32
# Jobs a worker holds at most, per place among the jobs it runs at once: those only waiting (a
# retry's delay, an outage) hold a lease and a folded job each, but no place.
HELD_PER_PLACE = 4
SKIP_SETTLED_SECONDS = 5.0


class Engine:
    """Runs Step 6 of every in-progress job this worker can lease, within bounded concurrency."""

    lease_margin = GIVE_UP_FRACTION  # share of a lease we run on without a confirmed renewal

    def __init__(
        self,
        app: RegistrationStore,
        executor: Executor,
        settings: Settings,
        *,
        work_source: WorkSource | None = None,
        leases: Leases | None = None,
        identity: WorkerIdentity | None = None,
        clock: Clock = SYSTEM_CLOCK,
        random: Callable[[], float] = random.random,
        policies: dict[str, RetryPolicy] | None = None,
        circuit: CircuitBreaker | None = None,
        poll_seconds: float = POLL_SECONDS,
        registration_api: str | None = None,
        gateway: StoreGateway | None = None,
        runner: type[JobRunner] = JobRunner,
        flow: FlowControl | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self._complaints = Complaints(clock)
        self.identity = identity or hold_worker_id(settings)
        self.worker_id = self.identity.worker_id
        self.identity_held = True
        self.work_source = work_source or LogWorkSource(app)
        self.leases = leases or open_leases(settings, self.identity.incarnation, clock)
        self.poll_seconds = poll_seconds
        self.runner_class = runner
        gateway = gateway or StoreGateway(app)
        self.shared = Shared(
            gateway=gateway,
            committer=GroupCommitter(gateway),
            executor=executor,
            circuit=circuit or CircuitBreaker(clock=clock),
            worker_id=self.worker_id,
            clock=clock,
            random=random,
            policies=dict(policies or {}),
            check_interval=settings.lease_seconds / 3,
            registration_api=registration_api,
            lease_slack=settings.lease_seconds * (1 - self.lease_margin),
            flow=flow or open_flow(settings, self.worker_id, clock),
            erasures=ErasureWatch(
                partial(gateway.run, app.keyring.destroyed_keys), app.keyring.forget_cached, clock
            ),
        )
        self.quarantine = Quarantine(clock)
        self.runners: dict[str, JobRunner] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runs: dict[str, asyncio.Task[Any]] = {}
        self._settled: dict[str, float] = {}
        # Jobs in progress whose calls went to the other kind of registration API (the
        # simulator, or a real one): never run here, and not waited for by run_until_idle.
        self._other_api: set[str] = set()
        self._loops: list[asyncio.Task[Any]] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self.claiming = asyncio.Lock()  # held while looking for jobs to claim
        self._next_sweep = 0.0  # when to look for abandoned leases of jobs not in progress
        self.outcomes: dict[str, int] = {}
        self.closing = False

    async def start(self) -> None:
        """Start finding, leasing and running jobs in the background."""
        await self.shared.erasures.start()
        loops = (self.shared.committer.run(), self._discover_forever(), renew_forever(self))
        self._loops = [self._spawn(loop) for loop in loops]

    @property
    def running(self) -> bool:
        """Whether this engine takes work: started, not stopping, and its loops alive."""
        alive = bool(self._loops) and not any(loop.done() for loop in self._loops)
        return alive and not self.shared.stopping.is_set()

    def _spawn(self, coroutine: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def wake(self, job_ids: Iterable[object] = ()) -> None:
        """A hint that these jobs changed (started, resumed, cancelled, retry-now)."""
        for job_id in map(str, job_ids):
            self._settled.pop(job_id, None)
            self.quarantine.release(job_id)
            if job_id in self.runners:
                self.runners[job_id].wake()
        self._wakeup.set()

    async def _discover_forever(self) -> None:
        while not self.closing:
            try:
                async with self.claiming:
                    await self._discover()
            except Exception as exc:
                self._complaints("looking for work", exc)
            await wait_for_event(self._wakeup, self.poll_seconds, self.clock)
            self._wakeup.clear()

    @property
    def _taking_work(self) -> bool:
        return self.identity_held and not self.shared.stopping.is_set()

    async def _discover(self) -> None:
        if not self._taking_work:
            return
        free = self._free_places()
        limit = 1000 + len(self.runners)
        found = await self.shared.gateway.run(self.work_source.runnable_job_ids, limit)
        self._forget_settled(self.clock.monotonic())
        if self._other_api:
            self._other_api.intersection_update(found)
        if len(found) == len(self._other_api) and not self.runners:
            self._idle.set()
        # Leases are looked up a few more than the free places at a time, not for every job
        # in progress: a run that ends frees one place, and each end asked about every job
        # still waiting (hundreds of ids a query, once per finished job). The jobs that may be
        # taken are sorted out only as far as they are looked up, for the same reason.
        fresh = (j for j in found if self._may_take(j))
        step = max(2 * free, CLAIM_LOOKAHEAD)
        while free > 0 and self._taking_work:
            part = list(islice(fresh, step))
            if not part:
                break
            busy = await self.shared.gateway.run(self.leases.busy, part, self.worker_id)
            for job_id in (j for j in part if j not in busy):
                if free <= 0 or not self._taking_work:
                    break
                if await self._claim(job_id):
                    free -= 1
        await self._take_abandoned(found)

    async def _take_abandoned(self, in_progress: list[str]) -> None:
        """Claim, every third of a lease, the leases of jobs not in progress that a worker left
        when it died (expired, or of an earlier incarnation of this worker id): a job cancelled
        while its calls were in flight keeps its worker's lease until they are recorded. The
        run records those calls interrupted (SPEC section 6: any worker) and gives the lease
        back; a lease left of a job with nothing in flight is only given back."""
        now = self.clock.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.settings.lease_seconds / 3
        abandoned = await self.shared.gateway.run(
            self.leases.abandoned, self.worker_id, CLAIM_LOOKAHEAD
        )
        running = set(in_progress)  # taken, or waiting their turn, as jobs in progress
        for job_id in abandoned:
            if self._free_places() <= 0 or not self._taking_work:
                return
            if job_id not in running and self._may_take(job_id):
                await self._claim(job_id)

    def _free_places(self) -> int:
        """How many more jobs this worker may take now: `max_concurrent_jobs` less the jobs at
        work. A job that only waits (a retry's delay, a pause of the circuit) holds no place,
        so jobs waiting out one endpoint's failures do not keep the rest of a batch from
        starting; the jobs held at all are at most `HELD_PER_PLACE` times the places."""
        places = self.settings.max_concurrent_jobs
        at_work = sum(1 for runner in self.runners.values() if not runner.paused)
        return min(places - at_work, HELD_PER_PLACE * places - len(self.runners))

    def _forget_settled(self, now: float) -> None:
        """Drop the settled jobs whose time to be skipped is over: the oldest come first."""
        settled = self._settled
        while settled:
            job_id = next(iter(settled))
            if settled[job_id] > now:
                return
            del settled[job_id]

    def _may_take(self, job_id: str) -> bool:
        held = job_id in self.runners or job_id in self._settled or job_id in self._other_api
        return not held and not self.quarantine.holds(job_id)

    async def _claim(self, job_id: str) -> bool:
        seconds = self.settings.lease_seconds
        asked = self.clock.monotonic()
        if not await self.shared.gateway.run(self.leases.claim, job_id, self.worker_id, seconds):
            return False
        runner = self.runners[job_id] = self.runner_class(self.shared, job_id)
        runner.lease_until = asked + seconds
        metrics.jobs_running.set(len(self.runners))
        self._idle.clear()
        run = self._runs[job_id] = self._spawn(self._run(runner))
        run.add_done_callback(lambda _: self._runs.pop(job_id, None))
        return True

    async def _run(self, runner: JobRunner) -> None:
        ended = RunEnd.BROKEN
        try:
            ended = await runner.run()
        except Exception as exc:
            self._broke(runner.job_id, exc)
        finally:
            self.runners.pop(runner.job_id, None)
            metrics.jobs_running.set(len(self.runners))
            self.outcomes[ended] = self.outcomes.get(ended, 0) + 1
            # What the run's end means for taking the job again is noted as the run is
            # dropped, with no wait between; the lease is given back only then. A look for
            # work made while it is given back (its listing read before the job settled) found
            # the job neither running nor settled, and claimed it again for nothing.
            if ended.settled:
                # Appended last, so that the settled jobs stay in the order they expire in.
                self._settled.pop(runner.job_id, None)
                self._settled[runner.job_id] = self.clock.monotonic() + SKIP_SETTLED_SECONDS
            if ended is RunEnd.OTHER_API:
                self._left_to_another_api(runner)
            if not ended.quarantines and ended is not RunEnd.STORE_UNAVAILABLE:
                self.quarantine.clear(runner.job_id)
            metrics.jobs_quarantined.set(len(self.quarantine.strikes))
            if ended.releases_lease:
                await self._release(runner.job_id)
            self._wakeup.set()

    def _left_to_another_api(self, runner: JobRunner) -> None:
        self._other_api.add(runner.job_id)
        recorded, here = runner.job.registration_api, self.shared.registration_api
        log.warning(
            "job %s: its calls went to %s and this worker calls %s; left for a worker that "
            "calls %s (a job is never moved between the simulator and a real registration API)",
            runner.job_id,
            recorded,
            here,
            recorded,
        )

    def _broke(self, job_id: str, exc: Exception) -> None:
        """A bug (an error that is not transient) ends this job's run loudly and sets it aside."""
        metrics.job_runs_broken.inc()
        seconds = self.quarantine.hold(job_id, f"{type(exc).__name__}: {exc}")
        log.error(
            "job %s: run ended by an error that is not transient; quarantined for %.0fs",
            job_id,
            seconds,
            exc_info=exc,
        )

    def _release_held(self) -> None:
        """Give up every lease still held here, so no job waits out a stopped worker's lease."""
        try:
            self.leases.release_held(self.worker_id)
        except Exception as exc:
            complain("releasing this worker's leases (they will expire)", exc)

    async def _release(self, job_id: str) -> None:
        try:
            await self.shared.gateway.run(self.leases.release, [job_id], self.worker_id)
        except Exception as exc:
            complain(f"job {job_id}: releasing its lease (it will expire)", exc)

    async def check_identity(self) -> None:
        """Stop running jobs while another live process may hold this worker id; trade a
        derived id another process took for a free one (`identity_watch`)."""
        await check_identity(self)

    async def runs_stopped(self, seconds: float) -> bool:
        """Tell every run here that its job is lost, and wait up to `seconds` for them to end."""
        for runner in list(self.runners.values()):
            runner.lose()
        runs = list(self._runs.values())
        await wait_all(runs, seconds, self.clock)
        return all(run.done() for run in runs)

    async def run_until_idle(self, timeout: float) -> bool:
        """Wait until no job is in progress or running here; False on timeout."""
        self._idle.clear()
        self._wakeup.set()
        return await wait_for_event(self._idle, timeout, self.clock)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop scheduling, let calls in flight be recorded (up to `grace`), release leases."""
        self.shared.stopping.set()
        for runner in list(self.runners.values()):
            runner.wake()
        if self._runs:
            await wait_all(list(self._runs.values()), grace, self.clock)
        self.closing = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.shared.flow.close()
        # Closing the gateway waits for its threads: a claim that was in flight when the
        # discovery was cancelled has landed by now, and no run remains to release its lease.
        self.shared.gateway.close()
        self._release_held()
        self.leases.close()
        self.identity.release()

    def health(self) -> dict[str, Any]:
        """Readiness: whether this engine runs and holds its worker id, the circuit's state,
        and the jobs quarantined after breaking (degraded while there are any)."""
        return {
            "running": self.running,
            "worker_id_held": self.identity_held,
            "circuit": str(self.shared.circuit.state),
            **self.quarantine.report(),
        }

    def status(self) -> dict[str, Any]:
        """A snapshot: jobs running, calls in flight, circuit state, commits, quarantine."""
        circuit = self.shared.circuit
        return {
            "worker_id": self.worker_id,
            "jobs_running": len(self.runners),
            "calls_in_flight": self.shared.calls_in_flight,
            "circuit": str(circuit.state),
            "consecutive_transient_errors": circuit.failures,
            "commits": self.shared.committer.commits,
            "events_committed": self.shared.committer.events,
            "runs_ended": {str(k): v for k, v in self.outcomes.items()},
            "flow": self.shared.flow.snapshot(),
            **self.quarantine.report(),
        }
