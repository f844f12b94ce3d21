"""The registration batch aggregate: a named set of jobs of one organisation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

BATCH_TOPIC = "regflow:RegistrationBatch"
_T = BATCH_TOPIC + "."
# The namespace of batch ids derived from an organisation's idempotency keys.
_REQUESTED_BATCHES = UUID("6f1d8a52-3c0e-4b7a-9e55-2d4c8b9a7f10")


def repeated_external_ids(restaurants: Iterable[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """Each restaurant (by position) whose external_id an earlier one of the same batch has,
    with the position of the first that has it: an external id names one restaurant of the
    operator's own records, and two jobs of one batch would register it twice. Restaurants
    without one (null) repeat nothing."""
    first: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    for position, restaurant in enumerate(restaurants):
        external_id = restaurant.get("external_id")
        if not isinstance(external_id, str):
            continue
        if (earlier := first.setdefault(external_id, position)) != position:
            repeats.append((position, earlier))
    return repeats


class RegistrationBatch(Aggregate):
    """A batch of restaurants uploaded together; its status is derived from its jobs."""

    TOPIC = BATCH_TOPIC

    class Created(Aggregate.Created):
        """Opened; `request_digest`: the keyed digest of the create request that named an
        idempotency key (None: no key, or recorded before keys, v1)."""

        TOPIC = _T + "Created"
        class_version = 2
        organisation_id: str
        name: str
        jobs: list[dict[str, Any]]
        actor: str
        request_digest: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["request_digest"] = None

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
        request_digest: str | None = None,
        id: UUID | None = None,  # noqa: A002 - the library's name for the aggregate id
    ):
        self.organisation_id = organisation_id
        self.name = name
        self.jobs = jobs
        self.created_by = actor
        self.request_digest = request_digest
        self.started = False

    @classmethod
    def open(
        cls,
        organisation_id: str,
        name: str,
        jobs: list[dict[str, Any]],
        actor: str,
        batch_id: UUID | None = None,
        request_digest: str | None = None,
    ) -> RegistrationBatch:
        """A new batch (under `batch_id`, when its jobs already name it) of `jobs`' ids and
        restaurant summaries; `request_digest` marks one created under an idempotency key."""
        return cls(organisation_id, name, jobs, actor, request_digest, id=batch_id)

    @staticmethod
    def id_for_request(organisation_id: str, idempotency_key: str) -> UUID:
        """The id of the batch an organisation's create request with this key opens: a second
        request with the key names the same batch, so the store refuses to open it twice."""
        return uuid5(_REQUESTED_BATCHES, f"{organisation_id}\x00{idempotency_key}")

    @property
    def job_ids(self) -> list[UUID]:
        return [UUID(str(j["id"])) for j in self.jobs]

    def request_start(self, job_ids: list[UUID], actor: str) -> None:
        """Record that Step 6 was asked to start for these jobs."""
        self.trigger_event(self.Step6StartRequested, job_ids=job_ids, actor=actor)
