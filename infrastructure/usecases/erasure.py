"""Erasing an organisation: its data keys destroyed, the erasure recorded in the log."""

from __future__ import annotations

from dataclasses import dataclass

from domain.erasure import OrganisationErasure
from domain.exceptions import InvalidInput, NotFound
from infrastructure.keys.ring import org_owner
from infrastructure.usecases.store import RegistrationStore


@dataclass(frozen=True)
class ErasurePlan:
    """What an erasure of one organisation would forget."""

    organisation_id: str
    data_keys: int
    jobs: int
    batches: int


def erasure_plan(
    app: RegistrationStore, organisation_id: str, jobs: int, batches: int
) -> ErasurePlan:
    """How many live data keys, jobs and batches the organisation has."""
    if not organisation_id.strip():
        raise InvalidInput("An organisation id is needed")
    with app.key_table.transaction(write=False) as cur:
        rows = app.key_table.rows(cur, org_owner(organisation_id))
    if not rows and not jobs and not batches:
        raise NotFound(
            f"Organisation {organisation_id!r} has no data in this store: nothing to erase"
        )
    alive = sum(1 for row in rows if row.wrapped is not None)
    return ErasurePlan(organisation_id, alive, jobs, batches)


def erase_organisation(app: RegistrationStore, plan: ErasurePlan, actor: str) -> int:
    """Destroy the organisation's data keys and record the erasure; the log position reached.

    Run again after a failure, it destroys what is left and records the erasure again."""
    destroyed = app.keyring.destroy(plan.organisation_id, actor)
    record = OrganisationErasure.record(
        plan.organisation_id, actor, destroyed, plan.jobs, plan.batches
    )
    return app.store(record).position
