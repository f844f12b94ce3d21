"""Where the engine finds jobs to run: any source of in-progress job ids."""

from __future__ import annotations

import threading
from typing import Protocol

from eventsourcing.application import Application

from domain import job_events as ev

STARTS = tuple(e.TOPIC for e in (ev.Step6Started, ev.ResumeRequested))
STOPS = tuple(e.TOPIC for e in (ev.JobCompleted, ev.JobFailed, ev.JobCancelled))
PAGE = 1000


class WorkSource(Protocol):
    """Answers which jobs are in progress, oldest first."""

    def runnable_job_ids(self, limit: int) -> list[str]: ...


class LogWorkSource:
    """Follows the notification log and folds which jobs are in progress."""

    def __init__(self, app: Application[object]) -> None:
        self._recorder = app.recorder
        self._position = 0
        self._in_progress: dict[str, None] = {}
        self._lock = threading.Lock()

    def runnable_job_ids(self, limit: int) -> list[str]:
        """Jobs in progress as of the head of the log, in the order they started."""
        with self._lock:
            self._catch_up()
            return list(self._in_progress)[:limit]

    def _catch_up(self) -> None:
        while True:
            notifications = self._recorder.select_notifications(
                self._position, PAGE, topics=STARTS + STOPS, inclusive_of_start=False
            )
            for notification in notifications:
                job_id = str(notification.originator_id)
                if notification.topic in STARTS:
                    self._in_progress[job_id] = None
                else:
                    self._in_progress.pop(job_id, None)
            if notifications:
                self._position = notifications[-1].id
            if len(notifications) < PAGE:
                return
