"""Audit queries of the use-case layer: a job as it was at a time or version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import takewhile
from typing import Any, cast

from domain.exceptions import NotFound
from domain.job import RegistrationJob
from infrastructure.usecases.store import RegistrationStore


class AuditQueries(RegistrationStore):
    """Reads of the log itself, for the audit view and `regflow state`."""

    def job_as_of(
        self,
        job_id: object,
        organisation_id: str | None,
        at: datetime | None = None,
        version: int | None = None,
    ) -> RegistrationJob:
        """The job folded from its own events up to `version`, or up to the time `at`."""
        live = self.job(job_id, organisation_id)
        if version is not None and not 1 <= version <= live.version:
            raise NotFound(f"Job {job_id} has versions 1 to {live.version}, not {version}")
        events: Iterable[Any] = self.events.get(live.id, lte=version)
        if at is not None:
            moment = at if at.tzinfo else at.replace(tzinfo=UTC)
            events = takewhile(lambda e: e.timestamp <= moment, events)
        job: Any = None
        for event in events:
            job = event.mutate(job)
        if job is None:
            raise NotFound(f"Job {job_id} did not exist yet at {at.isoformat() if at else at}")
        return cast(RegistrationJob, job)
