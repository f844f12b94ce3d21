"""One job held in memory by its runner: apply commands, save them, recover from failed saves.

Failure policy at this boundary: a save is one `committer.commit`, which the store retries
per STORAGE_WRITE_POLICY (4 attempts, 1/2/4 s apart, each retry checking what was stored);
when it still fails transiently, or meets a stale version, the handle checks whether the
events landed, reloads, re-applies what did not land and saves again, at most SAVE_ROUNDS
times for transient failures: a save gives up after about 3 x (7 s + 4 attempts) + 2 s.
Reads (load, landed) follow STORE_READ_POLICY. Nothing here waits past the job's lease: once
the next wait would end after `deadline` (the lease's end, less a slack), the run ends with
StoreUnavailable and another run takes over later.
An error that is not transient is not retried: it ends the run (the engine quarantines the job).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from domain.exceptions import JobNotFound, RegflowError
from domain.job import RegistrationJob
from domain.retry import STORE_READ_POLICY
from infrastructure import metrics
from infrastructure.engine.messages import Step
from infrastructure.engine.shared import Shared
from infrastructure.engine.storage import PendingEvents
from infrastructure.errors import describe_exception, is_transient_exception

T = TypeVar("T")
log = logging.getLogger("regflow.engine")
SAVE_ROUNDS = 3


class LostJob(Exception):
    """The job is no longer ours: another worker claimed it or our lease ran out."""


class StoreUnavailable(Exception):
    """Transient store errors outlasted the retries this job's lease leaves room for."""


class JobHandle:
    """The in-memory job, changed only between saves, and the commands not yet stored."""

    def __init__(self, shared: Shared, job_id: str) -> None:
        self.shared = shared
        self.job_id = job_id
        self.pending: list[Step] = []
        self.lost = False
        self.lease_until = float("inf")
        self.read_at = float("-inf")  # when the job in memory was read (monotonic)
        self._job: RegistrationJob | None = None

    @property
    def deadline(self) -> float:
        """When this run must stop unless its lease is renewed first: before it expires."""
        return self.lease_until - self.shared.lease_slack

    @property
    def job(self) -> RegistrationJob:
        assert self._job is not None
        return self._job

    def apply(self, step: Step) -> bool:
        """Run a command on the job now; False (and `dropped`) when it no longer applies."""
        try:
            step.result = step.command(self.job)
        except RegflowError as exc:
            log.info("job %s: %s", self.job_id, exc)
            if step.dropped is not None:
                step.dropped()
            return False
        self.pending.append(step)
        return True

    async def save(self) -> None:
        """Store what the pending commands recorded, then run their follow-ups."""
        rounds = 0
        while self.pending:
            events = self.job.collect_events()
            if not events:
                self._done()
                return
            batch = PendingEvents(events)
            try:
                await self.shared.committer.commit(batch)
            except IntegrityError:
                await self._recover(batch)
                continue
            except Exception as exc:
                if not is_transient_exception(exc):
                    raise
                rounds += 1
                metrics.storage_failures.inc()
                log.warning("job %s: save failed after storage retries: %s", self.job_id, exc)
                if rounds >= SAVE_ROUNDS:
                    raise StoreUnavailable(describe_exception(exc)) from exc
                await self._pause(1.0, exc)
                await self._recover(batch)
                continue
            self._done()

    def _done(self) -> None:
        steps, self.pending = self.pending, []
        for step in steps:
            if step.after is not None:
                step.after(step.result)

    async def _recover(self, batch: PendingEvents) -> None:
        landed = await self._retrying(lambda: self.shared.gateway.landed(batch))
        await self.reload()
        if landed:
            self._done()
            return
        steps, self.pending = self.pending, []
        for step in steps:
            self.apply(step)

    async def reload(self) -> None:
        """Load the stored job afresh; LostJob when another worker has claimed it."""
        began = self.shared.clock.monotonic()
        fresh = await self._retrying(lambda: self.shared.gateway.load(self.job_id))
        if fresh.worker_id not in (None, self.shared.worker_id) and self._job is not None:
            raise LostJob(self.job_id)
        self._job, self.read_at = fresh, began

    async def _retrying(self, action: Callable[[], Awaitable[T]]) -> T:
        """A store read, retried per STORE_READ_POLICY while it fails transiently."""
        attempt = 1
        while True:
            if self.lost:
                raise LostJob(self.job_id)
            try:
                return await action()
            except JobNotFound:
                raise
            except Exception as exc:
                if not is_transient_exception(exc):
                    raise
                if not STORE_READ_POLICY.may_retry(attempt):
                    raise StoreUnavailable(describe_exception(exc)) from exc
                metrics.storage_failures.inc()
                delay = STORE_READ_POLICY.delay_before(attempt, self.shared.random())
                log.warning(
                    "job %s: store unavailable (%s); retrying in %.1fs",
                    self.job_id,
                    describe_exception(exc),
                    delay,
                )
                await self._pause(delay, exc)
                attempt += 1

    async def _pause(self, seconds: float, exc: Exception) -> None:
        """Wait before trying the store again, unless the wait would outlive our lease."""
        if self.shared.clock.monotonic() + seconds >= self.deadline:
            raise StoreUnavailable(describe_exception(exc)) from exc
        await self.shared.clock.sleep(seconds)

    def drop_pending(self) -> None:
        """Forget unsaved commands, releasing what they held."""
        steps, self.pending = self.pending, []
        for step in steps:
            if step.dropped is not None:
                step.dropped()
