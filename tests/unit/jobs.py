"""Builders for aggregate tests: given events, when a command, then events."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any
from uuid import uuid4

from hypothesis import assume
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.plan import PLAN
from tests.kit import full_config

FULL_CONFIG: dict[str, Any] = full_config(password="s3cret-pass")
PHASE1 = ("cloudwaitressAccount", "codeGeneration", "createOnboardingUser", "uploadImages")
PHASE2 = (
    "restaurantRegistration",
    "websiteConfig",
    "servicesConfig",
    "paymentConfig",
    "menuImport",
    "syncOnboardingUser",
)
PHASE2_BUT_MENU = tuple(key for key in PHASE2 if key != "menuImport")


def new_job(config: dict[str, Any] | None = None) -> RegistrationJob:
    job = RegistrationJob.register(
        uuid4(), "org-1", {"name": "Buzz"}, FULL_CONFIG if config is None else config, "user:u-1"
    )
    return job


def running_job(config: dict[str, Any] | None = None) -> RegistrationJob:
    job = new_job(config)
    job.start_step6("user:u-1")
    job.claim("worker-1")
    return job


def succeed(job: RegistrationJob, *keys: str, result: dict[str, Any] | None = None) -> None:
    for key in keys:
        job.start_sub_step(key)
        job.complete_sub_step(key, result or {})


def fail(job: RegistrationJob, key: str, error: str = "HTTP 400: bad menu") -> None:
    job.start_sub_step(key)
    job.fail_sub_step(key, error, transient=False)


def only_the_menu_import_failed(transient: bool = False) -> RegistrationJob:
    """Phases 1 and 2 completed but for the menu import, which failed; the job failed."""
    job = running_job()
    succeed(job, *PHASE1, *PHASE2_BUT_MENU)
    job.start_sub_step("menuImport")
    job.fail_sub_step("menuImport", "HTTP 400: bad menu", transient=transient)
    job.finish()
    return given(job)


def waiting_to_retry(delay: float) -> RegistrationJob:
    """A running job whose codeGeneration call failed for a while and waits `delay` seconds."""
    job = running_job()
    job.start_sub_step("codeGeneration")
    job.schedule_retry("codeGeneration", "HTTP 503", delay=delay)
    return given(job)


def given(job: RegistrationJob) -> RegistrationJob:
    """Replay what was done so far into a fresh aggregate, with no pending events."""
    events = job.collect_events()
    replayed: Any = None
    for event in events:
        replayed = event.mutate(replayed)
    assert isinstance(replayed, RegistrationJob)
    return replayed


def then(job: RegistrationJob) -> list[str]:
    """Names of the events the last command recorded."""
    return [type(e).__name__ for e in job.collect_events()]


def refused(job: RegistrationJob, command: Callable[[], Any], error: type[Exception]) -> Exception:
    """Run a command that must be refused; check it recorded nothing."""
    version = job.version
    try:
        command()
    except error as exc:
        assert job.pending_events == [], "a refused command recorded events"
        assert job.version == version
        return exc
    raise AssertionError(f"{command} was not refused with {error.__name__}")


def run_until_stopped(
    job: RegistrationJob, outcomes: Any, started: list[str] | None = None
) -> None:
    """A worker runs what it may, each attempt succeeding or failing as `outcomes` (a
    hypothesis DataObject) draws, then stops; `started` collects the sub-steps it started."""
    job.claim("worker-1")
    while ready := job.runnable():
        key = ready[0]
        job.start_sub_step(key)
        if started is not None:
            started.append(key)
        if outcomes.draw(st.booleans(), label=f"{key} succeeds"):
            job.complete_sub_step(key, {"id": key})
        else:
            job.fail_sub_step(key, "HTTP 400: refused", transient=False)
    job.finish()


EDIT_TARGETS = ("completed", "failed", "skipped", "pending")


def legal_commands(job: RegistrationJob) -> list[list[Callable[[], Any]]]:
    """Commands to choose from, grouped so that rare ones are drawn as often as edits."""
    groups: list[list[Callable[[], Any]]] = [
        [lambda: job.start_step6("user:u-1"), lambda: job.claim("worker-1"), job.finish],
        [lambda: job.cancel("user:u-1", "property"), lambda: job.resume("user:u-1")],
        [lambda k=k: job.start_sub_step(k) for k in job.runnable()],
        [lambda k=k: job.retry_now(k, "user:u-1") for k in job.waiting_to_retry()],
        [
            lambda k=k, t=t: job.edit([(k, t, {"note": t})], "user:u-1", "property edit")
            for k in PLAN.keys
            for t in EDIT_TARGETS
        ],
    ]
    for key in job.in_flight():
        groups.append(
            [
                lambda k=key: job.complete_sub_step(k, {"codeInjectionId": f"ci-{k}"}),
                lambda k=key: job.fail_sub_step(k, "HTTP 400", transient=False),
                lambda k=key: job.schedule_retry(k, "HTTP 503", delay=1.5),
            ]
        )
    return [g for g in groups if g]


def chosen_command(job: RegistrationJob, choice: int) -> Callable[[], Any]:
    """The command `choice` picks: first a group, then a command of that group."""
    groups = legal_commands(job)
    group = groups[choice % len(groups)]
    return group[(choice // len(groups)) % len(group)]


def try_chosen_command(job: RegistrationJob, choice: int) -> None:
    """Run the command `choice` picks; one the job refuses changes nothing."""
    with contextlib.suppress(RegflowError):
        chosen_command(job, choice)()


def cancel_with_calls_in_flight(job: RegistrationJob, data: st.DataObject) -> None:
    """Run `job` a little way, each ready sub-step completed, failed or left in flight, then
    cancel it with at least one call in flight."""
    while (ready := job.runnable()) and data.draw(st.booleans(), label="go on"):
        key = data.draw(st.sampled_from(ready), label="started")
        job.start_sub_step(key)
        outcome = data.draw(st.sampled_from(["complete", "fail", "in flight"]), label=key)
        if outcome == "complete":
            job.complete_sub_step(key, {"codeInjectionId": "ci-1"})
        elif outcome == "fail":
            job.fail_sub_step(key, "HTTP 400", transient=False)
    if not job.in_flight():
        assume(job.runnable())
        job.start_sub_step(job.runnable()[0])
    job.cancel("user:u-1", "stop")


EDITS = st.lists(
    st.tuples(st.sampled_from(PLAN.keys), st.sampled_from(EDIT_TARGETS)), min_size=1, max_size=4
)
"""One to four edits of any sub-steps, to any target."""


def touches_in_flight(job: RegistrationJob, edits: list[tuple[str, str]]) -> bool:
    """Whether any edit would change a sub-step in flight, or what its call was made on: the
    one it names; for a reset, its dependents too (none is switched off: the config is full);
    for a mark failed, its dependents too (a resume runs it again under their calls)."""
    flying = set(job.in_flight())
    for key, target in edits:
        cascades = target in ("pending", "failed")
        changed = {key, *PLAN.cascade_of(key)} if cascades else {key}
        if changed & flying:
            return True
    return False
