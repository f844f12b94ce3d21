"""The record of an organisation's erasure: who asked, when, and what was forgotten."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

_T = "regflow:OrganisationErasure."


class OrganisationErasure(Aggregate):
    """One erasure of an organisation's personal data and secrets (crypto-shredding)."""

    TOPIC = "regflow:OrganisationErasure"

    class Created(Aggregate.Created):
        """The organisation was erased (its aggregate is the erasure's record)."""

        TOPIC = _T + "Created"
        organisation_id: str
        actor: str
        data_keys_destroyed: int
        jobs: int
        batches: int

    def __init__(
        self, organisation_id: str, actor: str, data_keys_destroyed: int, jobs: int, batches: int
    ) -> None:
        self.organisation_id = organisation_id
        self.actor = actor
        self.data_keys_destroyed = data_keys_destroyed
        self.jobs = jobs
        self.batches = batches

    @classmethod
    def record(
        cls, organisation_id: str, actor: str, data_keys_destroyed: int, jobs: int, batches: int
    ) -> OrganisationErasure:
        """The erasure of `organisation_id`, as it was carried out."""
        return cls(organisation_id, actor, data_keys_destroyed, jobs, batches)
