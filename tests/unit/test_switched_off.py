"""A sub-step the execution_config switches off never runs, whatever an operator does after:
resets leave it as it is (and refuse to reset it), and a resume or an edit that made it pending
skips it again with the config's reason."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.editing import EDIT_TARGETS
from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.plan import PLAN
from tests.unit.jobs import FULL_CONFIG, new_job, run_until_stopped, running_job, succeed

SECTIONS_OFF: dict[str, dict[str, Any]] = {
    "no menu": {"menu": None},
    "menu without options": {"menu": {"menu_id": "m", "option_sets": False}},
    "no payment": {"payment": {"enabled": False}},
    "no onboarding user": {"onboarding_user": None},
    "no website": {"website": {"enabled": False}},
}
CONFIGS = st.builds(
    lambda off, skip: (
        FULL_CONFIG | {k: v for name in off for k, v in SECTIONS_OFF[name].items()} | {"skip": skip}
    ),
    st.lists(st.sampled_from(sorted(SECTIONS_OFF)), unique=True),
    st.lists(st.sampled_from(PLAN.keys), unique=True, max_size=3),
)
COMMANDS = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), st.sampled_from(PLAN.keys), st.sampled_from(EDIT_TARGETS)),
        st.tuples(st.just("resume"), st.just(""), st.just("")),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(config=CONFIGS, commands=COMMANDS, outcomes=st.data())
def test_what_the_config_switches_off_never_runs(
    config: dict[str, Any], commands: list[tuple[str, str, str]], outcomes: st.DataObject
) -> None:
    job = new_job(config)
    job.start_step6("user:u-1")
    off = job.switched_off()
    started: list[str] = []
    run_until_stopped(job, outcomes, started)
    for kind, key, target in commands:
        try:
            if kind == "resume":
                job.resume("user:u-1")
                if job.status == "in_progress":
                    run_until_stopped(job, outcomes, started)
            else:
                checks = job.edit([(key, target, None)], "user:u-1", "by hand")
                assert not off.keys() & set(checks[0].cascade)
        except RegflowError:
            pass
        statuses = job.statuses()
        assert not [k for k in off if statuses[k] == "pending"], statuses
    assert not off.keys() & set(started)


def stopped_after_phase_one(config: dict[str, Any]) -> RegistrationJob:
    job = running_job(config)
    succeed(job, "cloudwaitressAccount", "codeGeneration", "createOnboardingUser")
    while ready := job.runnable():
        succeed(job, *ready)
    job.finish()
    return job


def test_a_reset_leaves_what_the_config_switches_off_and_says_so() -> None:
    job = stopped_after_phase_one(FULL_CONFIG | {"menu": None})
    [check] = job.edit([("restaurantRegistration", "pending", None)], "user:u-1", "again")
    assert "menuImport" not in check.cascade and "websiteConfig" in check.cascade
    assert check.warnings == [
        "menuImport, optionSets, itemTags not reset: the execution_config switches them off"
    ]
    assert job.statuses()["menuImport"] == "skipped"
    assert job.sub_steps["menuImport"].reason == "no menu in execution_config"


def test_resetting_what_the_config_switches_off_is_refused_with_the_reason() -> None:
    job = stopped_after_phase_one(FULL_CONFIG | {"skip": ["paymentConfig"]})
    before = job.version
    with pytest.raises(RegflowError) as refused:
        job.edit([("paymentConfig", "pending", None)], "user:u-1", "again")
    assert refused.value.errors == [
        "Cannot reset paymentConfig: the execution_config switches it off "
        "(listed in execution_config.skip)"
    ]
    assert job.version == before


def test_a_resume_skips_again_what_an_operator_marked_failed() -> None:
    job = stopped_after_phase_one(FULL_CONFIG | {"payment": {"enabled": False}})
    job.edit([("paymentConfig", "failed", None)], "user:u-1", "marked by mistake")
    job.resume("user:u-1")
    assert job.statuses()["paymentConfig"] == "skipped"
    assert "paymentConfig" not in job.runnable()
