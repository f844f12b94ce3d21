"""The phase history is truthful: after any legal commands, the last word on a phase is true."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.plan import PLAN
from tests.unit.jobs import PHASE1, running_job, succeed

SETTLED = ("completed", "failed")
PHASE_WORDS = ("PhaseCompleted", "PhaseReopened")


def last_words(events: list[Any]) -> dict[str, str]:
    """Each phase's last recorded status, read from the events alone."""
    words: dict[str, str] = {}
    for event in events:
        if type(event).__name__ in PHASE_WORDS:
            words[event.phase] = event.status
    return words


def assert_truthful(job: RegistrationJob, events: list[Any]) -> None:
    phases = job.phase_statuses()
    words = last_words(events)
    reached = True
    for phase in PLAN.phases:
        if words.get(phase) in SETTLED:
            assert words[phase] == phases[phase], (phase, words, phases)
        if reached and phases[phase] in SETTLED and job.step6_started:
            assert words.get(phase) == phases[phase], (phase, words, phases)
        reached = reached and phases[phase] in SETTLED


def _actions(job: RegistrationJob) -> list[list[Callable[[], Any]]]:
    groups: list[list[Callable[[], Any]]] = [
        [lambda: job.start_step6("user:u-1"), lambda: job.claim("worker-1"), job.finish],
        [lambda: job.cancel("user:u-1", "property"), lambda: job.resume("user:u-1")],
        [lambda k=k: job.start_sub_step(k) for k in job.runnable()],
        [
            lambda k=k, t=t: job.edit([(k, t, None)], "user:u-1", "property edit")
            for k in PLAN.keys
            for t in ("completed", "failed", "skipped", "pending")
        ],
    ]
    for key in job.in_flight():
        groups.append(
            [
                lambda k=key: job.complete_sub_step(k, {}),
                lambda k=key: job.fail_sub_step(k, "HTTP 400", transient=False),
                lambda k=key: job.fail_sub_step(k, "HTTP 503", transient=True),
            ]
        )
    return [g for g in groups if g]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False), st.integers(min_value=1, max_value=80))
def test_the_last_word_on_every_phase_is_true(rng: random.Random, steps: int) -> None:
    job = running_job()
    events: list[Any] = list(job.collect_events())
    for _ in range(steps):
        marks = dict(job.phase_marks)
        with contextlib.suppress(RegflowError):
            rng.choice(rng.choice(_actions(job)))()
        new = job.collect_events()
        events += new
        assert_truthful(job, events)
        assert_settled_in_order(job, new, marks)


def assert_settled_in_order(job: RegistrationJob, new: list[Any], marks: dict[str, str]) -> None:
    """A phase is recorded settled once every phase before it has, unless it was started (by
    the engine, which starts a phase only then) or its last word was a settled one: that word
    is kept true wherever the earlier phases stand."""
    phases = job.phase_statuses()
    for event in new:
        if type(event).__name__ != "PhaseCompleted":
            continue
        earlier = PLAN.phases[: PLAN.phases.index(event.phase)]
        in_order = all(phases[p] in SETTLED for p in earlier)
        assert in_order or marks.get(event.phase) in ("started", *SETTLED), (event, marks, phases)


def test_a_phase_failed_then_completed_after_resume_says_completed() -> None:
    job = running_job()
    succeed(job, *PHASE1, "restaurantRegistration", "websiteConfig", "servicesConfig")
    succeed(job, "paymentConfig", "syncOnboardingUser")
    job.start_sub_step("menuImport")
    job.fail_sub_step("menuImport", "HTTP 400", transient=False)
    job.finish()
    events = job.collect_events()
    assert last_words(events)["phase2"] == "failed"
    job.resume("user:u-1")
    job.claim("worker-2")
    succeed(job, "menuImport", "optionSets", "itemTags")
    job.finish()
    events += job.collect_events()
    assert last_words(events) == {p: "completed" for p in PLAN.phases}


def test_a_manual_edit_that_completes_a_phase_records_it() -> None:
    job = running_job()
    succeed(job, "cloudwaitressAccount", "codeGeneration", "createOnboardingUser")
    job.start_sub_step("uploadImages")
    job.fail_sub_step("uploadImages", "HTTP 400", transient=False)
    job.cancel("user:u-1", None)
    job.collect_events()
    job.edit([("uploadImages", "completed", None)], "user:u-1", "uploaded by hand")
    assert last_words(job.collect_events()) == {"phase1": "completed"}


def test_a_reset_that_reopens_a_phase_records_it() -> None:
    job = running_job()
    succeed(job, *PHASE1)
    job.cancel("user:u-1", None)
    job.collect_events()
    job.edit([("codeGeneration", "pending", None)], "user:u-1", "regenerate")
    assert last_words(job.collect_events()) == {"phase1": "in_progress"}


def test_a_later_phase_completed_by_hand_waits_for_the_earlier_ones_to_be_recorded() -> None:
    """Phases 2 to 4 were recorded failed behind a failed registration, then reopened pending
    when it was completed by hand; completing phase 4's only sub-step by hand shows phase 4
    completed at once, and records it once phases 2 and 3 have settled."""
    job = running_job()
    succeed(job, *PHASE1)
    job.start_sub_step("restaurantRegistration")
    job.fail_sub_step("restaurantRegistration", "HTTP 400", transient=False)
    job.finish()
    for key in ("restaurantRegistration", "menuImport", "itemTags"):
        job.edit([(key, "completed", None)], "user:u-1", "done in the admin")
    assert job.phase_statuses()["phase4"] == "completed"
    assert last_words(job.collect_events())["phase4"] == "pending"
    rest = ("websiteConfig", "servicesConfig", "paymentConfig", "syncOnboardingUser", "optionSets")
    job.edit([(k, "completed", None) for k in rest], "user:u-1", "done in the admin")
    events = job.collect_events()
    assert [(e.phase, e.status) for e in events if type(e).__name__ == "PhaseCompleted"] == [
        ("phase2", "completed"),
        ("phase3", "completed"),
        ("phase4", "completed"),
    ]


def test_a_phase_word_an_operator_caused_names_the_operator() -> None:
    """SPEC §3: every change carries its actor. A phase reopened by a reset, or settled by a
    mark, is the operator's doing; one the run settles is the engine's."""
    job = running_job()
    succeed(job, *PHASE1)
    words = [e for e in job.collect_events() if type(e).__name__ in PHASE_WORDS]
    assert [(e.phase, e.actor) for e in words] == [("phase1", "engine")]
    job.cancel("user:u-1", None)
    job.edit([("codeGeneration", "pending", None)], "user:u-2", "regenerate")
    words = [e for e in job.collect_events() if type(e).__name__ in PHASE_WORDS]
    assert [(e.phase, e.status, e.actor) for e in words] == [("phase1", "in_progress", "user:u-2")]
    job.edit([("codeGeneration", "completed", None)], "user:u-3", "done by hand")
    words = [e for e in job.collect_events() if type(e).__name__ in PHASE_WORDS]
    assert [(e.phase, e.status, e.actor) for e in words] == [("phase1", "completed", "user:u-3")]


def test_a_phase_word_recorded_before_words_named_actors_is_the_engines() -> None:
    for kind in (RegistrationJob.PhaseCompleted, RegistrationJob.PhaseReopened):
        state: dict[str, Any] = {"phase": "phase1", "status": "completed"}
        kind.upcast_v1_v2(state)
        assert state["actor"] == "engine"
