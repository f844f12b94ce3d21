"""A supervisor reads the log once per wake: a kick is never lost, a short read is not repeated."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from projections.live.supervisor import Supervisor

BATCH = 10
SETTLE = 0.3  # how long a follower is given to make a read it should not make


class ScriptedRunner:
    """Applies the scripted number of events per read (then none); `during` runs in a read."""

    names = ("scripted",)
    batch_size = BATCH

    def __init__(self, script: list[int], during: Callable[[int], None] | None = None) -> None:
        self.script = list(script)
        self.during = during
        self.reads = 0
        self.changed = threading.Condition()

    def step(self, conn: Any) -> int:
        with self.changed:
            self.reads += 1
            self.changed.notify_all()
        if self.during is not None:
            self.during(self.reads)
        return self.script.pop(0) if self.script else 0

    def wait_reads(self, count: int, timeout: float = 10.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.reads >= count, timeout), self.reads


@contextmanager
def following(runner: ScriptedRunner, wake: threading.Event | None = None) -> Iterator[Supervisor]:
    wake, stopping = wake or threading.Event(), threading.Event()
    supervisor = Supervisor(runner, wake, stopping, 60.0, lambda: None)  # type: ignore[arg-type]
    thread = threading.Thread(target=supervisor._follow, args=(None,), daemon=True)
    thread.start()
    try:
        yield supervisor
    finally:
        stopping.set()
        wake.set()
        thread.join(10)


def test_a_read_short_of_a_batch_is_not_followed_by_another_until_a_kick() -> None:
    runner = ScriptedRunner([3])
    with following(runner) as supervisor:
        runner.wait_reads(1)
        time.sleep(SETTLE)
        assert runner.reads == 1
        supervisor.wake.set()
        runner.wait_reads(2)
        time.sleep(SETTLE)
        assert runner.reads == 2


def test_full_batches_are_read_one_after_another_without_a_kick() -> None:
    runner = ScriptedRunner([BATCH, BATCH, 4])
    with following(runner):
        runner.wait_reads(3)
        time.sleep(SETTLE)
        assert runner.reads == 3


def test_a_kick_that_arrives_during_a_read_is_kept_for_the_next_read() -> None:
    wake = threading.Event()
    runner = ScriptedRunner([2, 1], during=lambda read: wake.set() if read == 1 else None)
    with following(runner, wake):
        runner.wait_reads(2)
        time.sleep(SETTLE)
        assert runner.reads == 2
