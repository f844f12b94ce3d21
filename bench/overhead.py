"""The engine's overhead per sub-step, measured from outside: the log's times and the calls'.

For each sub-step that completed: from the moment it could start (its dependencies completed,
the phases before it settled, an engine claimed the job) to the moment its call left, plus
from the moment the call came back to its SubStepCompleted event. This is latency (commits
and waits included), not CPU; the engine itself keeps no timing for it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.plan import PLAN
from infrastructure.executors.port import CallOutcome, Executor, SubStepCall

Calls = dict[tuple[str, str], tuple[datetime, datetime]]


class TimedExecutor:
    """Wraps an executor and notes, in wall time, when each call left and came back."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.calls: Calls = {}

    async def call(self, call: SubStepCall) -> CallOutcome:
        left = datetime.now(UTC)
        outcome = await self.inner.call(call)
        self.calls[(call.job_id, call.sub_step)] = (left, datetime.now(UTC))
        return outcome

    async def close(self) -> None:
        await self.inner.close()


def overheads(
    events: list[Any], calls: dict[tuple[str, str], tuple[datetime, datetime]]
) -> list[float]:
    """Seconds of engine time around each completed sub-step call of one job's `events`."""
    started = next(e.timestamp for e in events if type(e).__name__ == "Claimed")
    done = {e.sub_step: e.timestamp for e in events if type(e).__name__ == "SubStepCompleted"}
    settled = {e.sub_step: e.timestamp for e in events if hasattr(e, "sub_step")}
    job_id = str(events[0].originator_id)
    seconds = []
    for index, phase in enumerate(PLAN.phases):
        earlier = [
            settled[k] for p in PLAN.phases[:index] for k in PLAN.in_phase(p) if k in settled
        ]
        for key in PLAN.in_phase(phase):
            if key not in done or (job_id, key) not in calls:
                continue
            deps = [done[d] for d in PLAN.dependencies(key) if d in done]
            ready = max([started, *earlier, *deps])
            left, back = calls[(job_id, key)]
            seconds.append(
                max(0.0, (left - ready).total_seconds()) + (done[key] - back).total_seconds()
            )
    return seconds


def critical_path_overheads(events: list[Any], calls: Calls, waves: list[list[str]]) -> list[float]:
    """Seconds per sub-step of one job's time not spent in calls on its critical path.

    From the job's claim to its last SubStepCompleted, less the longest call of each wave
    (the sub-steps that run together), divided by the job's sub-steps; the same figure
    bench/dbos_shape.py takes for a DBOS workflow, so the two compare whatever each engine
    timestamps."""
    started = next(e.timestamp for e in events if type(e).__name__ == "Claimed")
    done = [e.timestamp for e in events if type(e).__name__ == "SubStepCompleted"]
    job_id = str(events[0].originator_id)
    in_calls = sum(
        max((calls[(job_id, k)][1] - calls[(job_id, k)][0]).total_seconds() for k in wave)
        for wave in waves
        if all((job_id, k) in calls for k in wave)
    )
    steps = sum(len(wave) for wave in waves)
    if len(done) < steps:
        return []
    return [((max(done) - started).total_seconds() - in_calls) / steps]
