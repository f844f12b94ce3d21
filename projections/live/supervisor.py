"""Keeps a runner going: one active per view across processes, restarted with backoff on faults."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from projections.live.runner import ViewRunner

log = logging.getLogger("regflow.projections")

INITIAL_BACKOFF = 0.1
MAX_BACKOFF = 5.0
STANDBY_INTERVAL = 1.0


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

    def _hold_and_follow(self) -> bool:
        """Follow the log while holding the view's lock; False when another process holds it."""
        db = self.runner.db
        conn = db.connect()
        try:
            self.standby = not self.runner.lock(conn)
            if self.standby:
                self.stopping.wait(STANDBY_INTERVAL)
                return False
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
