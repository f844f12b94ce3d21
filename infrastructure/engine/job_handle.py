"""One job held in memory by its runner: apply commands, save them, recover from failed saves."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from domain.exceptions import JobNotFound, RegflowError
from domain.job import RegistrationJob
from infrastructure import metrics
from infrastructure.engine.messages import Step
from infrastructure.engine.shared import Shared
from infrastructure.engine.storage import PendingEvents

T = TypeVar("T")
log = logging.getLogger("regflow.engine")
MAX_BACKOFF = 10.0


class LostJob(Exception):
    """The job is no longer ours: another worker claimed it or our lease ran out."""


class JobHandle:
    """The in-memory job, changed only between saves, and the commands not yet stored."""

    def __init__(self, shared: Shared, job_id: str) -> None:
        self.shared = shared
        self.job_id = job_id
        self.pending: list[Step] = []
        self.lost = False
        self._job: RegistrationJob | None = None

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
        while self.pending:
            events = self.job.collect_events()
            if not events:
                self._done()
                return
            batch = PendingEvents(events)
            try:
                await self.shared.committer.commit(batch)
            except Exception as exc:
                await self._recover(batch, exc)
                continue
            self._done()

    def _done(self) -> None:
        steps, self.pending = self.pending, []
        for step in steps:
            if step.after is not None:
                step.after(step.result)

    async def _recover(self, batch: PendingEvents, exc: Exception) -> None:
        if not isinstance(exc, IntegrityError):
            metrics.storage_failures.inc()
            log.warning("job %s: save failed after storage retries: %s", self.job_id, exc)
            await self.shared.sleep(1.0)
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
        fresh = await self._retrying(lambda: self.shared.gateway.load(self.job_id))
        if fresh.worker_id not in (None, self.shared.worker_id) and self._job is not None:
            raise LostJob(self.job_id)
        self._job = fresh

    async def _retrying(self, action: Callable[[], Awaitable[T]]) -> T:
        delay = 0.5
        while True:
            if self.lost:
                raise LostJob(self.job_id)
            try:
                return await action()
            except JobNotFound:
                raise
            except Exception as exc:
                metrics.storage_failures.inc()
                log.warning(
                    "job %s: store unavailable (%s); retrying in %.1fs", self.job_id, exc, delay
                )
                await self.shared.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    def drop_pending(self) -> None:
        """Forget unsaved commands, releasing what they held."""
        steps, self.pending = self.pending, []
        for step in steps:
            if step.dropped is not None:
                step.dropped()
