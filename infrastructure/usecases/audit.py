"""Audit queries of the use-case layer: a job as it was at a time or version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import takewhile
from typing import Any, cast
from uuid import UUID

from domain.batch import RegistrationBatch
from domain.exceptions import NotFound
from domain.job import RegistrationJob
from infrastructure.chain.verify import check_stored_chain
from infrastructure.usecases.store import RegistrationStore

LOG_PAGE = 1000


class AuditQueries(RegistrationStore):
    """Reads of the log itself, for the audit view and `regflow state`."""

    def check_log_of(self, aggregate_id: object) -> None:
        """Raise ChainBroken when the aggregate's stored events no longer match the log's hash
        chain: edited, swapped, renumbered or deleted by hand (what `regflow verify-log` finds,
        for one aggregate)."""
        check_stored_chain(self.recorder, cast(Any, aggregate_id))

    def audited_job(self, job_id: object) -> RegistrationJob:
        """The job, read as any read does (an event deleted, renumbered or unreadable said as
        such), then its stored events checked against the hash chain (`check_log_of`): what a
        command reading a job for an operator or an audit starts with."""
        job = self.job(job_id)
        self.check_log_of(job.id)
        return job

    def ids_in_log_starting_with(self, kind: str, prefix: str, limit: int) -> list[str]:
        """Up to `limit` ids of jobs or batches (`kind`) starting with `prefix`, read from the
        log's Created events rather than the read models: for when an event changed by hand
        stops the read models. A scan of every such event: not for a hot path."""
        topic = (RegistrationJob if kind == "job" else RegistrationBatch).Created.TOPIC
        found: list[str] = []
        position = 0
        while len(found) < limit and (
            page := self.recorder.select_notifications(
                start=position, limit=LOG_PAGE, topics=[topic], inclusive_of_start=False
            )
        ):
            ids = (str(UUID(str(n.originator_id))) for n in page)
            found += [i for i in ids if i.startswith(prefix)]
            position = page[-1].id
        return found[:limit]

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
