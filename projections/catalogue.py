"""Every view the read models keep, built fresh: the one list live runners and rebuilds share."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.job import RegistrationJob
from infrastructure.event_store import VersionsSkipped
from infrastructure.usecases.registrations import Registrations
from projections.job_view import JOB_CACHE_SIZE, LIVE_JOB_CACHE_SIZE, JobProgressView
from projections.views import BatchView, TimelineView, View

VIEWS = (JobProgressView, BatchView, TimelineView)


def fold_versions() -> dict[str, int]:
    """The version of each view's fold in this code, by view name."""
    return {view.name: view.fold_version for view in VIEWS}


def build_views(app: Registrations, deferred: bool = False) -> list[View]:
    """A fresh instance of every view; jobs missing from its cache are loaded from the log.

    Deferred views write job rows only when flushed: for one-shot builds of scratch tables.
    """

    def load(job_id: UUID, version: int) -> RegistrationJob:
        try:
            job: object = app.repository.get(job_id, version=version)
        except AggregateNotFoundError:
            # The event after `version` was read: none stored up to it is a log cut by hand.
            raise VersionsSkipped(job_id, version + 1, 1) from None
        assert isinstance(job, RegistrationJob)
        return job

    def read_events(job_id: UUID, version: int) -> list[Any]:
        return list(app.events.get(job_id, lte=version))

    cache = JOB_CACHE_SIZE if deferred else LIVE_JOB_CACHE_SIZE
    timeline = TimelineView() if deferred else TimelineView(read_events)
    return [JobProgressView(load, cache, deferred), BatchView(), timeline]
