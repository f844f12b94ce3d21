"""The registration batch aggregate: a named set of jobs of one organisation."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

BATCH_TOPIC = "regflow:RegistrationBatch"
_T = BATCH_TOPIC + "."


class RegistrationBatch(Aggregate):
    """A batch of restaurants uploaded together; its status is derived from its jobs."""

    TOPIC = BATCH_TOPIC

    class Created(Aggregate.Created):
        TOPIC = _T + "Created"
        organisation_id: str
        name: str
        jobs: list[dict[str, Any]]
        actor: str

    class Step6StartRequested(Aggregate.Event):
        TOPIC = _T + "Step6StartRequested"
        job_ids: list[UUID]
        actor: str

        def apply(self, batch: Any) -> None:
            batch.started = True

    def __init__(
        self,
        organisation_id: str,
        name: str,
        jobs: list[dict[str, Any]],
        actor: str,
        id: UUID | None = None,  # noqa: A002 - the library's name for the aggregate id
    ):
        self.organisation_id = organisation_id
        self.name = name
        self.jobs = jobs
        self.created_by = actor
        self.started = False

    @classmethod
    def open(
        cls,
        organisation_id: str,
        name: str,
        jobs: list[dict[str, Any]],
        actor: str,
        batch_id: UUID | None = None,
    ) -> RegistrationBatch:
        """A new batch (under `batch_id`, when its jobs already name it) of `jobs`' ids and
        restaurant summaries."""
        return cls(organisation_id, name, jobs, actor, id=batch_id)

    @property
    def job_ids(self) -> list[UUID]:
        return [UUID(str(j["id"])) for j in self.jobs]

    def request_start(self, job_ids: list[UUID], actor: str) -> None:
        """Record that Step 6 was asked to start for these jobs."""
        self.trigger_event(self.Step6StartRequested, job_ids=job_ids, actor=actor)
