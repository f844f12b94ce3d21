"""What must hold after every simulated run, whatever the faults were."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from projections.folds.jobs import apply_event, document_of, replay

if TYPE_CHECKING:
    from simulation.world import World

REFUSAL = "EditRefused"
# The event each operator command records once; others may follow in its save (a reset
# skipping a menu step again, a phase settling).
COMMANDS = ("JobCancelled", "ResumeRequested", "ManualStatusSet", "SubStepReset")


def check(world: World) -> list[str]:
    """Every broken invariant of the run, as a sentence."""
    world.store.heal()
    events = {j: list(world.app.events.get(world.app.job(j).id)) for j in world.job_ids}
    return (
        _nothing_stuck(world, events)
        + _log_whole(world, events)
        + _operators_recorded_once(world, events)
        + _api_calls(world)
        + _counted_attempts_called(world, events)
        + _folds_agree(world, events)
        + _settled_as_planned(world, events)
    )


def _status(events: list[Any]) -> str:
    return str(replay(events).status)


def _nothing_stuck(world: World, events: dict[str, list[Any]]) -> list[str]:
    return [
        f"job {j} stuck in_progress after {world.clock.monotonic():.0f}s"
        for j, evs in events.items()
        if _status(evs) == "in_progress"
    ]


def _log_whole(world: World, events: dict[str, list[Any]]) -> list[str]:
    """Versions run 1..n per job, and the notification log holds each event exactly once."""
    problems = []
    for job_id, evs in events.items():
        versions = [e.originator_version for e in evs]
        if versions != list(range(1, len(evs) + 1)):
            problems.append(f"job {job_id}: versions {versions} are not 1..{len(evs)}")
    seen = Counter(
        (str(n.originator_id), n.originator_version)
        for n in world.app.recorder.select_notifications(0, 10**9, inclusive_of_start=False)
    )
    doubled = [k for k, n in seen.items() if n > 1]
    if doubled:
        problems.append(f"events in the notification log twice: {doubled[:3]}")
    for job_id, evs in events.items():
        logged = sum(1 for (o, _) in seen if o == job_id)
        if logged != len(evs):
            problems.append(f"job {job_id}: {len(evs)} events, {logged} in the notification log")
    return problems


def _operators_recorded_once(world: World, events: dict[str, list[Any]]) -> list[str]:
    """A done command is recorded once; a refused one changes nothing; none is doubled."""
    by_actor: dict[str, Counter[str]] = defaultdict(Counter)
    for evs in events.values():
        for event in evs:
            actor = getattr(event, "actor", None)
            if isinstance(actor, str) and actor.startswith("operator:"):
                by_actor[actor][type(event).__name__] += 1
    problems = []
    for op, actor, result in world.operations:
        kinds = by_actor.get(actor, Counter())
        changes = sum(kinds[kind] for kind in COMMANDS)
        allowed = {"done": (1, 1), "no-op": (0, 0), "refused": (0, 0), "unknown": (0, 1)}[result]
        if not allowed[0] <= changes <= allowed[1] or kinds[REFUSAL] > 1:
            problems.append(
                f"operator {op.kind} on job #{op.job} ({result}) left {dict(kinds)} in the log"
            )
    return problems


def _api_calls(world: World) -> list[str]:
    api = world.api
    problems = [f"two calls in flight at once: {o}" for o in api.overlaps[:3]]
    problems += [f"a call without a live lease: {s}" for s in api.stale_calls[:3]]
    twice = [k for k, n in api.executions.items() if n > 1]
    if twice:
        problems.append(f"idempotency keys executed more than once: {twice[:3]}")
    return problems


def _counted_attempts_called(world: World, events: dict[str, list[Any]]) -> list[str]:
    """A failed attempt that counts against the policy was a call made: one never sent (the
    store could not be read before it) is retried without counting."""
    made = world.api.attempts_made
    uncalled = [
        f"{e.sub_step} attempt {e.attempt} of job {job_id}: {e.error}"
        for job_id, job_events in events.items()
        for e in job_events
        if type(e).__name__ == "SubStepRetryScheduled"
        and e.counted
        and (job_id, e.sub_step, e.attempt) not in made
    ]
    return [f"counted attempts that made no call: {uncalled[:3]}"] if uncalled else []


def _folds_agree(world: World, events: dict[str, list[Any]]) -> list[str]:
    """The log in notification order, each job's own events, and the loaded job agree."""
    folded: dict[str, Any] = {}
    mapper = world.app.mapper
    for record in world.app.recorder.select_notifications(0, 10**9, inclusive_of_start=False):
        job_id = str(record.originator_id)
        if job_id in events:
            folded[job_id] = apply_event(folded.get(job_id), mapper.to_domain_event(record))
    problems = []
    for job_id, evs in events.items():
        replayed = document_of(replay(evs))
        if document_of(folded[job_id]) != replayed:
            problems.append(f"job {job_id}: the view folded from the log differs from replay")
        live = world.app.job(job_id)
        if document_of(live) != replayed or live.version != len(evs):
            problems.append(f"job {job_id}: the live job differs from its replayed log")
    return problems + _views_agree(world, events)


def _views_agree(world: World, events: dict[str, list[Any]]) -> list[str]:
    """The read models the process kept current hold what the log folds to."""
    world.views.catch_up()
    problems = []
    for job_id, evs in events.items():
        row = world.views.job_progress(job_id)
        job = replay(evs)
        expected = json.loads(json.dumps(document_of(job), default=str))
        if row is None:
            problems.append(f"job {job_id}: missing from the job view")
        elif (row["sub_step_progress"], row["status"], row["version"]) != (
            expected,
            str(job.status),
            len(evs),
        ):
            problems.append(f"job {job_id}: the job view differs from the fold of its log")
    return problems


def _settled_as_planned(world: World, events: dict[str, list[Any]]) -> list[str]:
    """A job no operator touched ends as its faults allow: failed only for a permanent fault."""
    touched = {op.job for op, _, result in world.operations if result in ("done", "unknown")}
    problems = []
    for number, job_id in enumerate(world.job_ids):
        if number in touched:
            continue
        runs = world.plan.will_run(number)
        doomed = any((number, key) in world.plan.permanent for key in runs)
        expected = "failed" if doomed else "completed"
        status = _status(events[job_id])
        if status != expected:
            job = world.app.job(job_id)
            errors = {k: s.error for k, s in job.sub_steps.items() if s.status == "failed"}
            problems.append(f"job #{number} ended {status}, its faults allow {expected}: {errors}")
    return problems
