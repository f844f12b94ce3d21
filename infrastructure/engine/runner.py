"""The runner of one leased job: starts ready sub-steps, records outcomes, finishes the job.

`JobRunner` is one loop over one job's messages (wakes, slots granted, answers, losses); its steps
share the inbox, the retry clock and the trace, so they stay in one class of about 230 lines.
What it decides is in `decisions`, how it calls the API in `calls`, how it loads and saves the job
in `job_handle`.
"""

from __future__ import annotations

import logging

from domain.exceptions import JobNotFound
from domain.failures import is_over_capacity
from domain.outcomes import AttemptDecision, RunEnd
from domain.status import JobStatus, SubStepStatus
from infrastructure import metrics
from infrastructure.engine.calls import CallLauncher
from infrastructure.engine.decisions import decide, record
from infrastructure.engine.job_handle import JobHandle, LostJob, StoreUnavailable
from infrastructure.engine.job_trace import JobTrace
from infrastructure.engine.messages import (
    Answered,
    Broke,
    Granted,
    Inbox,
    Lost,
    Message,
    RetryClock,
    Step,
    Wake,
)
from infrastructure.engine.shared import Shared
from infrastructure.errors import is_transient_exception

log = logging.getLogger("regflow.engine")


class JobRunner(JobHandle):
    """Runs one job this worker holds the lease of, until it is settled, stopped or lost."""

    def __init__(self, shared: Shared, job_id: str) -> None:
        super().__init__(shared, job_id)
        self.inbox = Inbox(shared.clock)
        self.launcher = CallLauncher(shared, self.inbox, job_id)
        self.retry_clock = RetryClock(shared.clock)
        self.trace = JobTrace(job_id)
        self._next_check = 0.0
        self._waiting = False  # waiting for a message (an answer, a slot, a retry's time)

    @property
    def paused(self) -> bool:
        """Whether the job only waits: nothing in flight, and each sub-step it could start is
        held back by a retry's delay or by the circuit (an outage). A paused job gives its place
        among the jobs a worker runs at once to another job (`Engine`)."""
        if not self._waiting or self.job.status != JobStatus.IN_PROGRESS:
            return False
        launcher = self.launcher
        return launcher.held_back and bool(launcher.permits or self.job.waiting_to_retry())

    def lose(self) -> None:
        """Our lease is gone: stop at once."""
        self.lost = True
        self.inbox.put_nowait(Lost())

    def lost_to_outage(self, failed_transiently: bool) -> bool:
        """Whether a failed attempt is blamed on an API outage, so it does not count."""
        return failed_transiently and self.shared.circuit.outage

    def wake(self) -> None:
        """Look at the store now: a cancel or retry-now may have been recorded."""
        self.inbox.put_nowait(Wake())

    async def run(self) -> RunEnd:
        """Run the job until it settles, the engine stops, or the job is lost to us."""
        ended = RunEnd.BROKEN
        try:
            await self.reload()
            # Just loaded: the next look at the store for news is due an interval from now
            # (a wake still asks for one at once), not on the first message as it was.
            self._next_check = self.shared.clock.monotonic() + self.shared.check_interval
            if self.job.status != JobStatus.IN_PROGRESS:
                ended = RunEnd.NOT_RUNNING
                await self._interrupt_abandoned()
                return ended
            api = self.shared.registration_api
            if not self.job.may_run_against(api):
                ended = RunEnd.OTHER_API
                return ended
            self.trace.open(self.job)
            me, previous = self.shared.worker_id, self.job.worker_id
            self.apply(Step(lambda j: j.claim(me, api), after=self._interrupted))
            await self.save()
            if previous not in (None, me):
                log.info("job %s: lease taken over from worker %s", self.job_id, previous)
            ended = await self._loop()
            return ended
        except LostJob:
            metrics.leases_lost.inc()
            log.warning("job %s: lease lost, stopping it here", self.job_id)
            ended = RunEnd.LOST
            return ended
        except JobNotFound:
            # Only an expired lease left behind can name a job the store does not hold (the
            # work source lists stored jobs): there is nothing to run; the lease is given back.
            log.warning("job %s: not in the store; its lease is given back", self.job_id)
            ended = RunEnd.NOT_RUNNING
            return ended
        except StoreUnavailable as exc:
            log.warning("job %s: store unavailable (%s); leaving it for later", self.job_id, exc)
            ended = RunEnd.STORE_UNAVAILABLE
            return ended
        finally:
            self.drop_pending()
            self.launcher.cancel_all()
            self.inbox.close()
            self.trace.close(ended)

    async def _interrupt_abandoned(self) -> None:
        """A job that is not running, with calls in flight, whose lease we hold: the worker
        that made the calls lost the lease (it died after a cancel, which lets calls finish),
        so it records nothing more; record them interrupted, as a claim would."""
        if self.job.in_flight():
            self.apply(Step(lambda j: j.interrupt_abandoned_calls(), after=self._interrupted))
            await self.save()
            log.info("job %s: calls of a worker that is gone recorded interrupted", self.job_id)

    def _interrupted(self, keys: list[str]) -> None:
        for key in keys:
            decision = AttemptDecision.INTERRUPTED
            metrics.sub_step_outcomes.labels(sub_step=key, outcome=decision).inc()

    async def _loop(self) -> RunEnd:
        while True:
            if self.lost or self.shared.clock.monotonic() >= self.deadline:
                raise LostJob(self.job_id)
            running = self.job.status == JobStatus.IN_PROGRESS
            stopping = self.shared.stopping.is_set()
            if running and not stopping and await self._settle():
                return RunEnd.of_status(self.job.status)
            if (not running or stopping) and not self.launcher.calls:
                return RunEnd.STOPPED if running else RunEnd.of_status(self.job.status)
            if running and not stopping:
                self._ask_for_slots()
            else:
                self.launcher.cancel_permits()
            await self._handle(await self._next_messages())

    async def _settle(self) -> bool:
        """Finish the job when nothing is left to run; repair sub-steps nobody is calling."""
        job = self.job
        orphans = set(job.in_flight()) - set(self.launcher.calls)
        if orphans:
            me, api = self.shared.worker_id, self.shared.registration_api
            self.apply(Step(lambda j: j.claim(me, api), after=self._interrupted))
            await self.save()
            return False
        if job.in_flight() or job.waiting_to_retry() or not job.all_settled():
            return False
        self.apply(Step(lambda j: j.finish()))
        await self.save()
        return self.job.status != JobStatus.IN_PROGRESS

    def _ask_for_slots(self) -> None:
        now = self.shared.clock.monotonic()
        for key in self.job.runnable():
            if self.launcher.busy(key):
                continue
            state = self.job.sub_steps[key]
            waiting = state.status == SubStepStatus.RETRYING
            if waiting and self.retry_clock.due(key, state.retry_at) > now:
                continue
            self.launcher.request(key, self.job.organisation_id)

    def _next_due(self) -> float | None:
        """Seconds until a retry that could start now is due (one that cannot would spin)."""
        waiting = self.job.waiting_to_retry()
        runnable = set(self.job.runnable()) if waiting else set()
        dues = [
            self.retry_clock.due(k, self.job.sub_steps[k].retry_at)
            for k in waiting
            if k in runnable and not self.launcher.busy(k)
        ]
        return max(0.0, min(dues) - self.shared.clock.monotonic()) if dues else None

    def _seconds_to_wait(self) -> float:
        """Until the soonest of: the next look at the store, a retry due, the lease's end.

        One timer for all three: a task per timer, made and cancelled on every wait, was a
        measurable part of the engine's time per sub-step.
        """
        now = self.shared.clock.monotonic()
        waits = [max(0.0, self._next_check - now)]
        due = self._next_due() if self.job.status == JobStatus.IN_PROGRESS else None
        if due is not None:
            waits.append(due)
        if self.deadline != float("inf"):
            waits.append(max(0.0, self.deadline - now))
        return min(waits)

    async def _next_messages(self) -> list[Message]:
        if self.inbox.empty():
            self._waiting = True
            try:
                await self.inbox.wait(self._seconds_to_wait())
            finally:
                self._waiting = False
        return self.inbox.drain()

    async def _handle(self, messages: list[Message]) -> None:
        if self._apply_messages(messages) and await self._grants_for_what_is_now_ready():
            self._apply_messages(self.inbox.drain())
        await self.save()
        if self.shared.clock.monotonic() >= self._next_check:
            await self._check_news()

    def _apply_messages(self, messages: list[Message]) -> bool:
        """Turn messages into pending events; True when an answer was recorded."""
        answered = False
        for message in messages:
            if isinstance(message, Lost):
                raise LostJob(self.job_id)
            if isinstance(message, Broke):
                raise message.error
            if isinstance(message, Wake):
                self._next_check = 0.0
            elif isinstance(message, Granted):
                self._start(message)
            elif isinstance(message, Answered):
                self._record(message)
                answered = True
        return answered

    async def _grants_for_what_is_now_ready(self) -> bool:
        """Ask slots for sub-steps an answer made ready, so their starts share its save."""
        if self.job.status != JobStatus.IN_PROGRESS or self.shared.stopping.is_set():
            return False
        self._ask_for_slots()
        await self.shared.clock.sleep(0)
        return not self.inbox.empty()

    def _start(self, granted: Granted) -> None:
        key = granted.key
        self.launcher.granted(key)
        job = self.job
        ready = job.status == JobStatus.IN_PROGRESS and not self.shared.stopping.is_set()
        if not ready or key not in job.runnable() or key in self.launcher.calls:
            self.launcher.release(granted)
            return
        trace_id, span_id = self.trace.begin(job, key)
        self.apply(
            Step(
                lambda j: j.start_sub_step(key, trace_id, span_id),
                after=lambda _: self._launch(granted),
                dropped=lambda: self._not_started(granted),
            )
        )

    def _not_started(self, granted: Granted) -> None:
        self.trace.end(granted.key, "not started")
        self.launcher.release(granted)

    def _launch(self, granted: Granted) -> None:
        self.launcher.launch(self.job, granted, self.trace.traceparent(granted.key), self.read_at)

    def _record(self, answer: Answered) -> None:
        key, outcome = answer.key, answer.outcome
        self.launcher.answered(key)
        full = is_over_capacity(outcome.status, outcome.retry_after)
        failed_transiently = not outcome.ok and outcome.transient and not full
        if outcome.made:
            metrics.call_seconds.observe(answer.seconds)
            self.shared.circuit.record(failed_transiently, answer.probe, key)
        else:
            self.shared.circuit.abandon(answer.probe)
            failed_transiently = False  # the API was not asked: no sign of an outage
        outage = self.lost_to_outage(failed_transiently) or full
        policy = self.shared.policy(key)
        decision = decide(self.job, key, outcome, policy, self.shared.random(), outage)
        metrics.sub_step_outcomes.labels(sub_step=key, outcome=decision.decision).inc()
        self.trace.end(key, decision.decision, outcome)

        def after(_: object) -> None:
            if decision.retries:
                metrics.sub_step_retries.labels(sub_step=key).inc()
                self.retry_clock.set(key, self.job.sub_steps[key].retry_at, decision.delay)

        self.apply(Step(record(key, outcome, decision), after=after))

    async def _check_news(self) -> None:
        self._next_check = self.shared.clock.monotonic() + self.shared.check_interval
        try:
            news = await self.shared.gateway.has_news(self.job)
        except Exception as exc:
            if not is_transient_exception(exc):
                raise
            log.info("job %s: could not look for news: %s", self.job_id, exc)
            return
        if news:
            await self.reload()
