"""The simulator's windows, once full, take a constant amount of memory however much they serve."""

from __future__ import annotations

import gc
import json
import time
import tracemalloc
import uuid

from domain.plan import SUB_STEPS
from infrastructure.executors.simulator.answers import Request, success_answer
from infrastructure.executors.simulator.calls import CallRecord
from infrastructure.executors.simulator.windows import AnswerWindow, CallWindow

CAPACITY = 2_000
FRAMES = 8  # deep enough to see this file under the windows' own frames


def serve(calls: CallWindow, answers: AnswerWindow, count: int) -> None:
    """`count` calls as the engine makes them, each recorded and its answer kept."""
    for number in range(count):
        step, job = SUB_STEPS[number % len(SUB_STEPS)], str(uuid.uuid4())
        key, endpoint = f"{job}:{step.key}:1", step.endpoint.replace("{menuId}", "m-1")
        call = CallRecord(key, endpoint, job, step.key, "1", time.monotonic(), str(uuid.uuid4()))
        calls.begin(call)
        answers.remember(key, json.dumps(success_answer(step, Request(key, {}, {}))))
        call.finished, call.status, call.executed = time.monotonic(), 200, True
        calls.finish(call)


def traced() -> int:
    """Bytes still held of what this test's own calls allocated (not what another thread of
    the test run allocated meanwhile: tracemalloc counts every thread's)."""
    gc.collect()
    mine = tracemalloc.Filter(True, __file__, all_frames=True)
    held = tracemalloc.take_snapshot().filter_traces([mine])
    return sum(stat.size for stat in held.statistics("filename"))


def test_full_windows_keep_a_constant_size() -> None:
    """Filled to 2 and then to 10 times their capacity, the windows hold the same memory (the
    deque of records and dict of texts grew by about 900 bytes a call, then churned), under
    500 bytes per call and answer together."""
    # Garbage of earlier tests is collected before tracing starts, and no collection runs on
    # its own while this test serves: a finalizer of theirs run under these frames would
    # count as this test's allocation.
    gc.collect()
    gc.disable()
    tracemalloc.start(FRAMES)
    try:
        empty = traced()
        calls, answers = CallWindow(CAPACITY), AnswerWindow(CAPACITY)
        serve(calls, answers, 2 * CAPACITY)
        full = traced()
        serve(calls, answers, 8 * CAPACITY)
        later = traced()
    finally:
        tracemalloc.stop()
        gc.enable()
    assert len(calls) == len(answers) == CAPACITY
    # Between the two, 16,000 calls are served: a window that kept a byte for each would grow
    # past this bound (one that kept every key grew 1.8 MB), while the interpreter's own caches
    # under these frames move a few kB from run to run (8.3 kB seen once in CI).
    assert abs(later - full) < 16 * 1024
    assert (full - empty) / CAPACITY < 500
