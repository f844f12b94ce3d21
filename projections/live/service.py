"""The read models of one process: supervised runners keep them current; queries read them."""

from __future__ import annotations

import threading
import time
from typing import Any

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import build_views
from projections.current import CurrentReads
from projections.database import Database
from projections.fold_versions import Rebuild
from projections.job_pages import JobPageQueries
from projections.live.listener import LogListener
from projections.live.runner import ChangeWatcher, TrackingMoved, ViewRunner
from projections.live.supervisor import Supervisor
from projections.queries import ViewQueries
from projections.schema import Schema

SQLITE_POLL = 0.05
POSTGRES_POLL = 1.0
HERE_RECHECK = 0.1  # a runner that stops notifies nobody: look again this often
OTHER_RUNNER_POLL = 0.05  # how often a process without runners looks at another's progress


class ReadModelService(CurrentReads, ViewQueries, JobPageQueries):
    """Keeps every view up to date from the log and answers queries, read-your-writes (those
    of `CurrentReads` whether or not the views have caught up with the log)."""

    def __init__(
        self,
        settings: Settings,
        app: Registrations,
        schema: Schema | None = None,
        rebuild: Rebuild | None = None,
    ) -> None:
        """`rebuild`: how views built by older folds than this process's are rebuilt before
        they are run (without one, they are refused, as views of newer folds are)."""
        self.settings = settings
        self.app = app
        super().__init__(Database(settings), schema or Schema())
        # One runner for every view: the log is read and decoded once, and one transaction
        # a run moves them all, instead of each view competing with the writes for the same.
        views = build_views(app)
        self.schema.create(self.db, versions={view.name: view.fold_version for view in views})
        app.recent.keep()
        self.runners = [
            ViewRunner(app, self.db, views, self.schema, recent=app.recent, rebuild=rebuild)
        ]
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self._wakes = [threading.Event() for _ in self.runners]
        self.supervisors: list[Supervisor] = []
        self._listener: LogListener | None = None

    def start(self) -> None:
        """Start the supervised runner (and, on PostgreSQL, a listener that wakes it)."""
        if self.supervisors:
            return
        self._stopping.clear()
        poll = POSTGRES_POLL if self.db.is_postgres else SQLITE_POLL
        self.supervisors = [
            Supervisor(runner, wake, self._stopping, poll, self._notify_progress)
            for runner, wake in zip(self.runners, self._wakes, strict=True)
        ]
        for supervisor in self.supervisors:
            supervisor.start()
        if self.db.is_postgres:
            channel = getattr(self.app.recorder, "channel_name", "stored_events")
            self._listener = LogListener(self.db, channel, self._kick_from_log, self._stopping)
            self._listener.start()

    def stop(self) -> None:
        """Stop the runners and close the views' connections."""
        self._stopping.set()
        self.kick()
        for supervisor in self.supervisors:
            supervisor.join(10)
        if self._listener is not None:
            self._listener.join(10)
            self._listener = None
        self.supervisors = []
        self.db.close()

    close = stop

    def watch(self, watcher: ChangeWatcher) -> None:
        """Tell `watcher` of every change this process's runners make to the views."""
        for runner in self.runners:
            runner.watchers.append(watcher)

    def run_here(self) -> bool:
        """Whether this process runs every view now (so its watchers hear of every change)."""
        return bool(self.supervisors) and all(s.active for s in self.supervisors)

    def kick(self) -> None:
        """Tell the runners new events may be waiting."""
        for wake in self._wakes:
            wake.set()

    def _kick_from_log(self) -> None:
        """The log's notice of new events: held while a save of this process hands its own
        events over, so the runner applies them from memory instead of reading them."""
        self.app.recent.wake_after_saves(self.kick)

    def _notify_progress(self) -> None:
        with self._progress:
            self._progress.notify_all()

    def fold_problems(self) -> list[str]:
        """Why this process's views are not ready while their folds are at stake: it rebuilds
        them from the log now, or refuses them (a newer release built them)."""
        return [problem for runner in self.runners for problem in runner.folds.problems()]

    def positions(self) -> dict[str, int]:
        return self.schema.positions(self.db)

    def head(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def lag(self) -> dict[str, int]:
        """How many log positions each view is behind the head."""
        head = self.head()
        return {name: max(head - at, 0) for name, at in self.positions().items()}

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Block until every view has processed `position`; False on timeout."""
        deadline = time.monotonic() + timeout
        if not self.supervisors:
            return all(self._run_here(runner, position, deadline) for runner in self.runners)
        here = self._positions_here()
        if here is None or min(here) < position:
            # Woken when already there, a runner would read the log for events none has made.
            self.kick()
        while True:
            with self._progress:
                here = self._positions_here()
                if here is not None and min(here) >= position:
                    return True
                remaining = deadline - time.monotonic()
                if here is not None and remaining > 0:
                    self._progress.wait(min(remaining, HERE_RECHECK))
                    continue
            if min(self.positions().values()) >= position:
                return True
            if remaining <= 0:
                return False
            with self._progress:
                self._progress.wait(min(remaining, 0.05))

    def _positions_here(self) -> list[int] | None:
        """What this process's runners committed, when every view is run here; else None."""
        marks = [s.runner.committed for s in self.supervisors if s.active]
        if not marks or len(marks) != len(self.supervisors) or None in marks:
            return None
        return [m for m in marks if m is not None]

    def catch_up(self, timeout: float = 300.0) -> None:
        """Process everything up to the head now (waits for the active runners if running)."""
        head = self.head()
        if not self.wait_for(head, timeout):
            raise TimeoutError(f"views did not reach position {head} in {timeout} s")

    def _run_here(self, runner: ViewRunner, position: int, deadline: float) -> bool:
        """Run `runner`'s views to `position` in this process on one connection; while another
        process runs them, wait for it to get there (taking over if it stops). False when the
        deadline passes first."""
        conn = self.db.connect()
        try:
            while True:
                if runner.lock(conn):
                    try:
                        runner.run_to(conn, position)
                    except TrackingMoved:
                        # Another process moved the views meanwhile (on SQLite the lock keeps
                        # out this process's runners only): look again from where they stand.
                        runner.forget()
                        continue
                    finally:
                        runner.unlock(conn)
                    return True
                standing = runner.standing(conn)
                if len(standing) == len(runner.views) and min(standing.values()) >= position:
                    return True
                if time.monotonic() >= deadline:
                    return False
                time.sleep(OTHER_RUNNER_POLL)
        finally:
            conn.close()

    def __enter__(self) -> ReadModelService:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
