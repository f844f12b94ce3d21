"""A job's state at a time or a version, folded from the log."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from domain.exceptions import JobNotFound, NotFound
from domain.job import RegistrationJob
from infrastructure.registrations import Registrations


def _version_at(store: Registrations, uuid: UUID, at: datetime) -> int:
    moment = at if at.tzinfo else at.replace(tzinfo=UTC)
    version = 0
    for event in store.events.get(uuid):
        if event.timestamp > moment:
            break
        version = event.originator_version
    return version


def job_state(
    store: Registrations,
    organisation_id: str,
    job_id: str,
    at: datetime | None,
    version: int | None,
) -> RegistrationJob:
    """The job as it was at `at`, or at `version`, or now; another organisation's is not found."""
    latest = store.job(job_id, organisation_id)
    wanted = _version_at(store, latest.id, at) if at is not None else version
    if wanted == 0:
        raise NotFound(f"Job {job_id} did not exist at {at.isoformat() if at else at}")
    if wanted is None or wanted == latest.version:
        return latest
    if wanted > latest.version:
        raise NotFound(f"Job {job_id} has no version {wanted}; the latest is {latest.version}")
    job = store.repository.get(latest.id, version=wanted)
    if not isinstance(job, RegistrationJob):
        raise JobNotFound(job_id)
    return job
