"""Phases 3 and 4 run only when the menu import succeeded; a failed import only blocks them."""

from __future__ import annotations

from typing import Any

import hypothesis
from hypothesis import strategies as st

from domain.job import RegistrationJob
from domain.plan import PLAN
from domain.progress_rules import conditional_skips
from domain.status import SETTLED_WELL, SubStepStatus
from tests.unit.jobs import (
    FULL_CONFIG,
    PHASE1,
    PHASE2_BUT_MENU,
    given,
    only_the_menu_import_failed,
    running_job,
    succeed,
)

REASON = "done by hand in the CloudWaitress admin"
CONDITIONAL = ("optionSets", "itemTags")
ANY_STATUS = st.sampled_from(list(SubStepStatus))


def skips(job: RegistrationJob) -> dict[str, Any]:
    return {
        e.sub_step: (e.reason, e.actor)
        for e in job.collect_events()
        if isinstance(e, RegistrationJob.SubStepSkipped)
    }


class TestSkippedMenuImport:
    def test_menu_import_skipped_by_config_skips_its_dependents_with_the_reason(self) -> None:
        job = running_job(FULL_CONFIG | {"skip": ["menuImport"]})
        for key in CONDITIONAL:
            assert job.sub_steps[key].status == "skipped"
            assert job.sub_steps[key].reason == "menu import did not succeed"

    def test_the_job_completes_without_calling_them(self) -> None:
        job = running_job(FULL_CONFIG | {"skip": ["menuImport"]})
        succeed(job, *PHASE1, *PHASE2_BUT_MENU)
        assert job.runnable() == []
        assert job.finish() == "completed"

    def test_menu_import_skipped_by_hand_skips_them_as_the_editor(self) -> None:
        job = running_job()
        succeed(job, *PHASE1, "restaurantRegistration")
        job.cancel("user:u-1", None)
        job = given(job)
        job.edit([("menuImport", "skipped", None)], "user:u-2", REASON)
        reason = "menu import did not succeed"
        assert skips(job) == {k: (reason, "user:u-2") for k in CONDITIONAL}

    def test_a_manual_completion_follows_the_dependency_rule_only(self) -> None:
        job = running_job(FULL_CONFIG | {"skip": ["menuImport"]})
        job.cancel("user:u-1", None)
        job = given(job)
        checks = job.edit([("optionSets", "completed", None)], "user:u-1", REASON)
        assert checks[0].valid and job.sub_steps["optionSets"].status == "completed"


class TestFailedMenuImport:
    def test_a_failed_import_blocks_them_without_recording_a_skip(self) -> None:
        job = only_the_menu_import_failed()
        assert [job.shown_statuses()[k] for k in CONDITIONAL] == ["blocked", "blocked"]
        assert [job.sub_steps[k].status for k in CONDITIONAL] == ["pending", "pending"]

    def test_resume_then_runs_them_once_the_import_succeeds(self) -> None:
        job = only_the_menu_import_failed()
        job.resume("user:u-1")
        job.claim("worker-2")
        succeed(job, "menuImport")
        assert job.runnable() == ["optionSets"]
        succeed(job, "optionSets")
        assert job.runnable() == ["itemTags"]


class TestContextFoldedOnlyWhenNeeded:
    """The rules may be given the function that folds the context: the answer is the same as
    with the context itself, and the fold runs only when a conditional step is to be decided."""

    @hypothesis.settings(max_examples=300, deadline=None)
    @hypothesis.given(
        statuses=st.fixed_dictionaries({k: ANY_STATUS for k in PLAN.keys}),
        menu_imported=st.booleans(),
    )
    def test_the_same_skips_with_the_context_or_its_fold(
        self, statuses: dict[str, str], menu_imported: bool
    ) -> None:
        context = {s.runs_if.context_key: menu_imported for s in PLAN.conditional if s.runs_if}
        folds: list[int] = []

        def fold() -> dict[str, Any]:
            folds.append(1)
            return context

        assert conditional_skips(statuses, fold) == conditional_skips(statuses, context)
        deciding = [
            s.key
            for s in PLAN.conditional
            if statuses[s.key] == SubStepStatus.PENDING
            and all(statuses[d] in SETTLED_WELL for d in s.depends_on)
        ]
        assert len(folds) == (1 if deciding else 0)
