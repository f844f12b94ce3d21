"""Keeps a runner going: one active per view across processes, restarted with backoff on faults."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from projections.fold_versions import ViewsRefused
from projections.live.runner import TrackingMoved, ViewRunner

log = logging.getLogger("regflow.projections")

INITIAL_BACKOFF = 0.1
MAX_BACKOFF = 5.0
STANDBY_INTERVAL = 1.0
# A holder that has not moved the views for this long while the log is ahead is taken for hung
# (a stopped process whose connection, and so its lock, stays open): a standby steps in.
STALLED_AFTER = 3.0
# A process refused the views (a newer release built them) looks again this often: an operator
# may roll them back to its folds (`regflow rebuild-projections --downgrade`).
REFUSED_RECHECK = 30.0


class Supervisor:
    """A thread that runs one ViewRunner for as long as the service runs, whatever happens."""

    def __init__(
        self,
        runner: ViewRunner,
        wake: threading.Event,
        stopping: threading.Event,
        poll_interval: float,
        on_progress: Callable[[], None],
    ) -> None:
        self.runner = runner
        self.name = "+".join(runner.names)
        self.wake = wake
        self.stopping = stopping
        self.poll_interval = poll_interval
        self.on_progress = on_progress
        self.active = False
        self.standby = False
        self.progressed = False
        self.restarts = 0
        self.last_error: str | None = None
        self.stepped_in = 0  # runs of events a standby applied for a holder that had stalled
        self._seen: tuple[int, float] | None = None  # (position, since when) while in standby
        self.thread = threading.Thread(target=self._run, name=f"view-{self.name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        backoff = INITIAL_BACKOFF
        while not self.stopping.is_set():
            try:
                if self._hold_and_follow():
                    backoff = INITIAL_BACKOFF
                    continue
            except ViewsRefused as exc:
                self._refuse(exc)
            except Exception as exc:  # any fault: log, back off, start again
                if self.progressed:
                    backoff = INITIAL_BACKOFF
                self.progressed = False
                self.restarts += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("view %s stopped (%s); restarting in %.1f s", self.name, exc, backoff)
                self.runner.forget()
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _refuse(self, refusal: ViewsRefused) -> None:
        """Leave the views to the process whose folds built them (the lock is given back), say
        why once, and look again later."""
        folds = self.runner.folds
        if refusal.message != folds.refused:
            log.error("view %s is not run in this process: %s", self.name, refusal.message)
        folds.refused = refusal.message
        self.runner.forget()
        self.stopping.wait(REFUSED_RECHECK)

    def _hold_and_follow(self) -> bool:
        """Follow the log while holding the view's lock; False when another process holds it."""
        db = self.runner.db
        conn = db.connect()
        try:
            self.standby = not self.runner.lock(conn)
            if self.standby:
                if self._holder_stalled(conn):
                    self._step_in(conn)
                self.stopping.wait(STANDBY_INTERVAL)
                return False
            self._seen = None
            try:
                self.runner.take_over(conn)
                self.active = True
                self._follow(conn)
            finally:
                self.active = False
                with contextlib.suppress(Exception):
                    self.runner.unlock(conn)
            return True
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def _holder_stalled(self, conn: Any) -> bool:
        """Whether the process holding the lock left the views behind the log, unmoved, for
        STALLED_AFTER seconds."""
        standing = self.runner.standing(conn)
        position = min(standing.values(), default=0)
        now = time.monotonic()
        if self._seen is None or self._seen[0] != position:
            self._seen = (position, now)
            return False
        head = int(self.runner.app.recorder.max_notification_id() or 0)
        if position >= head or now - self._seen[1] < STALLED_AFTER:
            return False
        # Views of other folds than this process's are being rebuilt by their holder, or are
        # an older release's: neither is stepped in for with these folds.
        return not self.runner.folds.differs(conn)

    def _step_in(self, conn: Any) -> None:
        """Apply what the log holds without the lock, for a holder that stalled. Each run of
        events still moves the views only from where their tracking stands (compare-and-set),
        so nothing is applied twice: a holder that comes back finds its tracking moved and
        starts again from where the views stand, and so does this standby if it comes back."""
        log.warning(
            "view %s: its holder has not moved it for %.0f s; stepping in", self.name, STALLED_AFTER
        )
        self.runner.forget()
        try:
            while not self.stopping.is_set() and self.runner.step(conn):
                self.stepped_in += 1
                self.on_progress()
        except TrackingMoved:
            log.info("view %s: its holder moved again; standing by", self.name)
        finally:
            self.runner.forget()
            self._seen = None

    def _follow(self, conn: Any) -> None:
        """Apply what the log holds, then sleep until woken (or the poll interval passes).

        The wake is cleared before each read, so a kick for events committed after it is kept
        for the next round, and a read that found less than a full batch is not followed by
        another read that would find nothing: one read per wake, not two or three.
        """
        while not self.stopping.is_set():
            self.wake.clear()
            applied = self.runner.step(conn)
            if applied:
                self.progressed = True
                self.on_progress()
                if applied >= self.runner.batch_size:
                    continue
            self.wake.wait(self.poll_interval)
