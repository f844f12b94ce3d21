"""A process without view runners (a CLI command) beside one that runs the views (`serve`).

The reader must wait on one connection for the other process's runner, take over when it
stops, and give up at its deadline: never open connection after connection while it waits
(that exhausted PostgreSQL's connections and ended in a traceback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from projections.live.service import ReadModelService
from tests.conftest import unique_org
from tests.integration.test_projections import drive, new_batch, views_of

MAX_CONNECTIONS = 4


class TooManyConnections(AssertionError):
    pass


@contextmanager
def counted_connections(service: ReadModelService) -> Iterator[list[int]]:
    """Count the connections `service` opens; refuse past MAX_CONNECTIONS (so a reader that
    opens one after another fails here instead of using up the database's)."""
    opened = [0]
    connect = service.db.connect

    def counting() -> Any:
        opened[0] += 1
        if opened[0] > MAX_CONNECTIONS:
            raise TooManyConnections(f"{opened[0]} connections opened to wait for the views")
        return connect()

    service.db.connect = counting  # type: ignore[method-assign]
    try:
        yield opened
    finally:
        service.db.connect = connect  # type: ignore[method-assign]


@pytest.fixture
def held(settings, app) -> Iterator[tuple[Any, Any, ReadModelService, int]]:
    """Views whose runner another connection holds (as another process would), with three
    finished jobs in the log they have not applied, and a reader on the same tables."""
    batch_id, jobs = new_batch(app, unique_org(), 3)
    app.start_step6(None, batch_id, None, "user:u-1")
    for job_id in jobs:
        drive(app, job_id)
    with views_of(settings, app) as holder_views:
        runner = holder_views.runners[0]
        conn = holder_views.db.connect()
        assert runner.lock(conn)
        reader = ReadModelService(settings, app, holder_views.schema)
        try:
            yield runner, conn, reader, int(app.recorder.max_notification_id())
        finally:
            reader.stop()
            runner.unlock(conn)
            conn.close()


def test_a_reader_gives_up_at_its_deadline_while_another_runner_stands_still(held) -> None:
    _, _, reader, head = held
    with counted_connections(reader) as opened:
        started = time.monotonic()
        assert reader.wait_for(head, timeout=0.5) is False
        waited = time.monotonic() - started
    assert 0.5 <= waited < 10
    assert opened[0] == 1
    with pytest.raises(TimeoutError, match=f"position {head}"):
        reader.catch_up(timeout=0.3)


def test_a_reader_sees_another_runner_get_there(held) -> None:
    runner, conn, reader, head = held

    def other_process() -> None:
        time.sleep(0.3)
        runner.run_to(conn, head)

    moving = threading.Thread(target=other_process)
    with counted_connections(reader) as opened:
        moving.start()
        assert reader.wait_for(head, timeout=60)
        moving.join()
    assert opened[0] == 1
    assert min(reader.positions().values()) >= head


def test_a_reader_takes_over_when_the_other_runner_stops(held) -> None:
    runner, conn, reader, head = held
    stopping = threading.Timer(0.3, lambda: runner.unlock(conn))
    with counted_connections(reader) as opened:
        stopping.start()
        reader.catch_up(timeout=60)
        stopping.join()
    assert opened[0] == 1
    assert min(reader.positions().values()) >= head
    assert runner.lock(conn)  # the reader gave the views back
