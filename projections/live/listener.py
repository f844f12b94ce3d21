"""Wakes the runners when any process appends events (PostgreSQL LISTEN), reconnecting on faults."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from psycopg import sql

from projections.database import Database

log = logging.getLogger("regflow.projections")
MAX_BACKOFF = 5.0


class LogListener:
    """A thread that calls `kick` on every NOTIFY of the event store's channel."""

    def __init__(
        self, db: Database, channel: str, kick: Callable[[], None], stopping: threading.Event
    ) -> None:
        self.db = db
        self.channel = channel
        self.kick = kick
        self.stopping = stopping
        self.thread = threading.Thread(target=self._run, name="view-listener", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        backoff = 0.1
        while not self.stopping.is_set():
            try:
                self._listen()
            except Exception as exc:  # a dropped connection: the runners still poll meanwhile
                log.info("log listener lost its connection (%s); reconnecting", exc)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    def _listen(self) -> None:
        conn = self.db.connect()
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.kick()
            while not self.stopping.is_set():
                for _ in conn.notifies(timeout=0.5, stop_after=1):
                    self.kick()
        finally:
            with contextlib.suppress(Exception):
                conn.close()
