"""Where the engine finds jobs to run: any source of in-progress job ids."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from itertools import islice
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from domain import job_events as ev
from infrastructure.engine.turns import OrganisationTurns

STARTS = tuple(e.TOPIC for e in (ev.Step6Started, ev.ResumeRequested))
STOPS = tuple(e.TOPIC for e in (ev.JobCompleted, ev.JobFailed, ev.JobCancelled))
CREATED = ev.Created.TOPIC
PAGE = 1000


class WorkSource(Protocol):
    """Answers which jobs are in progress, oldest first, organisations taking turns."""

    def runnable_job_ids(self, limit: int) -> list[str]: ...


class LogWorkSource:
    """Follows the notification log and folds which jobs are in progress."""

    def __init__(self, app: Application[Any]) -> None:
        self._recorder = app.recorder
        self._mapper = app.mapper
        self._position = 0
        self._in_progress = OrganisationTurns()
        # The organisations of jobs created and not yet started. A started job's moves to the
        # turns and goes when it stops, so the map does not grow with every job the store has
        # ever held; a resumed job's is looked up again.
        self._organisation: dict[str, str] = {}
        self._lock = threading.Lock()

    def runnable_job_ids(self, limit: int) -> list[str]:
        """Jobs in progress as of the head of the log: in the order they started, each
        organisation in turn, so a small batch is not queued behind a large one's jobs."""
        with self._lock:
            self._catch_up()
            return self._in_progress.take(limit)

    def _organisation_of(self, notification: Notification) -> str:
        """The organisation a resumed job was created for, read from its first event."""
        first = self._recorder.select_events(notification.originator_id, lte=1)
        if not first:
            return ""
        created = self._mapper.to_domain_event(first[0])
        return str(getattr(created, "organisation_id", ""))

    def _started(self, job_id: str, organisation: str) -> None:
        self._in_progress.start(job_id, organisation)

    def _stopped(self, job_id: str) -> None:
        self._in_progress.stop(job_id)

    def _catch_up(self) -> None:
        while True:
            notifications = self._recorder.select_notifications(
                self._position, PAGE, topics=(CREATED, *STARTS, *STOPS), inclusive_of_start=False
            )
            for notification in notifications:
                job_id = str(notification.originator_id)
                if notification.topic == CREATED:
                    created = self._mapper.to_domain_event(notification)
                    self._organisation[job_id] = str(getattr(created, "organisation_id", ""))
                elif notification.topic in STARTS:
                    if job_id not in self._in_progress:
                        organisation = self._organisation.pop(job_id, None)
                        if organisation is None:
                            organisation = self._organisation_of(notification)
                        self._started(job_id, organisation)
                else:
                    self._stopped(job_id)
                    self._organisation.pop(job_id, None)
            if notifications:
                self._position = notifications[-1].id
            if len(notifications) < PAGE:
                return


class ChosenJobsSource(LogWorkSource):
    """The log's jobs in progress, of the chosen ones only, in the order given: a `batch run`
    works its own batch, not every job in progress in the store (other organisations' jobs, or
    jobs no worker of its kind may run, kept it waiting until its timeout)."""

    def __init__(self, app: Application[Any], job_ids: Iterable[str]) -> None:
        super().__init__(app)
        self._chosen = frozenset(job_ids)
        self._chosen_in_progress: dict[str, None] = {}  # in the order they started

    def runnable_job_ids(self, limit: int) -> list[str]:
        with self._lock:
            self._catch_up()
            return list(islice(self._chosen_in_progress, limit))

    def _started(self, job_id: str, organisation: str) -> None:
        super()._started(job_id, organisation)
        if job_id in self._chosen:
            self._chosen_in_progress[job_id] = None

    def _stopped(self, job_id: str) -> None:
        super()._stopped(job_id)
        self._chosen_in_progress.pop(job_id, None)
