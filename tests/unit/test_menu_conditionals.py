"""Phases 3 and 4 run only when the menu import succeeded; a failed import only blocks them."""

from __future__ import annotations

from typing import Any

import hypothesis
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.job_state import SubStepState
from domain.plan import PLAN
from domain.progress_rules import conditional_skips, reopen_warning, reskip_warning
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


def skipped_menu_after_failure() -> RegistrationJob:
    """The menu import failed and the job failed; then an operator marked it skipped, so the
    rule skipped its dependents (every event still pending on the job)."""
    job = running_job()
    succeed(job, *PHASE1, *PHASE2_BUT_MENU)
    job.start_sub_step("menuImport")
    job.fail_sub_step("menuImport", "HTTP 400: bad menu", transient=False)
    job.finish()
    job.edit([("menuImport", "skipped", None)], "user:u-1", REASON)
    assert [job.sub_steps[k].status for k in CONDITIONAL] == ["skipped", "skipped"]
    return job


def reopened(job: RegistrationJob) -> dict[str, str]:
    return {
        e.sub_step: e.reason
        for e in job.collect_events()
        if isinstance(e, RegistrationJob.SubStepReopened)
    }


def runs_them_on_resume(job: RegistrationJob) -> None:
    """A resume runs both conditional sub-steps once the menu import is completed."""
    job.resume("user:u-1")
    job.claim("worker-2")
    if job.sub_steps["menuImport"].status != "completed":
        succeed(job, "menuImport")
    assert job.runnable() == ["optionSets"]
    succeed(job, "optionSets")
    assert job.runnable() == ["itemTags"]
    succeed(job, "itemTags")
    assert job.finish() == "completed"


class TestTheRulesSkipTakenBack:
    """A skip the menu rule recorded stands only while its reason does: once the menu import
    is completed by hand, or is to run again, the skipped sub-steps are pending again."""

    def test_a_menu_import_completed_by_hand_after_the_skip_reopens_them(self) -> None:
        job = skipped_menu_after_failure()
        job.edit([("menuImport", "completed", {"menuId": "m-9"})], "user:u-2", REASON)
        assert reopened(job) == dict.fromkeys(CONDITIONAL, "the menu import succeeded after all")
        assert [job.shown_statuses()[k] for k in CONDITIONAL] == ["pending", "pending"]
        runs_them_on_resume(job)

    def test_a_menu_import_marked_failed_after_the_skip_blocks_them_until_it_runs(
        self,
    ) -> None:
        job = skipped_menu_after_failure()
        job.edit([("menuImport", "failed", None)], "user:u-2", REASON)
        assert reopened(job) == dict.fromkeys(CONDITIONAL, "waiting on menuImport again")
        assert [job.shown_statuses()[k] for k in CONDITIONAL] == ["blocked", "blocked"]
        runs_them_on_resume(job)

    def test_a_completed_job_is_reopened_and_its_resume_runs_them(self) -> None:
        job = running_job(FULL_CONFIG | {"skip": ["menuImport"]})
        succeed(job, *PHASE1, *PHASE2_BUT_MENU)
        assert job.finish() == "completed"
        job.edit([("menuImport", "completed", {"menuId": "m-9"})], "user:u-2", REASON)
        assert job.status == "pending"
        assert reopened(job) == dict.fromkeys(CONDITIONAL, "the menu import succeeded after all")
        runs_them_on_resume(job)

    def test_a_skip_by_hand_is_the_operators_and_stays(self) -> None:
        job = only_the_menu_import_failed()
        job.edit([("optionSets", "skipped", None)], "user:u-2", "not this one")
        job.edit([("menuImport", "skipped", None)], "user:u-2", REASON)
        job.edit([("menuImport", "completed", {"menuId": "m-9"})], "user:u-2", REASON)
        assert reopened(job) == {"itemTags": "the menu import succeeded after all"}
        assert job.sub_steps["optionSets"].status == "skipped"

    def test_a_skip_switched_off_by_the_config_stays(self) -> None:
        job = running_job(FULL_CONFIG | {"skip": ["menuImport", "optionSets"]})
        succeed(job, *PHASE1, *PHASE2_BUT_MENU)
        job.cancel("user:u-1", None)
        job = given(job)
        job.edit([("menuImport", "completed", {"menuId": "m-9"})], "user:u-2", REASON)
        assert reopened(job) == {"itemTags": "the menu import succeeded after all"}
        assert job.sub_steps["optionSets"].status == "skipped"

    def test_a_skip_recorded_before_skips_said_who_decided_is_known_by_its_reason(
        self,
    ) -> None:
        job = skipped_menu_after_failure()
        version_1 = {"sub_step": "optionSets", "reason": "menu import did not succeed"}
        RegistrationJob.SubStepSkipped.upcast_v1_v2(version_1)
        assert version_1["by_rule"] is True
        by_config = {"sub_step": "optionSets", "reason": "switched off"}
        RegistrationJob.SubStepSkipped.upcast_v1_v2(by_config)
        assert by_config["by_rule"] is False
        assert job.sub_steps["optionSets"].skipped_by_rule

    def test_a_snapshot_taken_before_skips_said_who_decided_knows_them_by_their_reason(
        self,
    ) -> None:
        rule_skip = SubStepState(status="skipped", reason="menu import did not succeed")
        by_hand = {"status": "skipped", "reason": "not this one"}
        pending = {"status": "pending", "reason": None}
        state = {"state": {"sub_steps": {"optionSets": rule_skip, "itemTags": by_hand}}}
        state["state"]["sub_steps"]["menuImport"] = pending
        RegistrationJob.Snapshot.upcast_v1_v2(state)
        assert rule_skip.skipped_by_rule is True
        assert (by_hand["skipped_by_rule"], pending["skipped_by_rule"]) == (False, False)

    @hypothesis.settings(max_examples=150, deadline=None)
    @hypothesis.given(
        st.lists(
            st.tuples(
                st.sampled_from(["menuImport", *CONDITIONAL]),
                st.sampled_from(["completed", "failed", "skipped", "pending"]),
            ),
            min_size=1,
            max_size=8,
        ),
        st.booleans(),
    )
    def test_after_any_edits_the_rules_last_word_on_each_skip_is_true(
        self, edits: list[tuple[str, str]], resume: bool
    ) -> None:
        """Whatever an operator does to the menu import and its dependents, a sub-step the
        rule skipped is skipped for the rule's reason: its dependencies settled well and the
        menu import did not succeed."""
        job = only_the_menu_import_failed()
        for key, target in edits:
            try:
                job.edit(
                    [(key, target, {"menuId": "m"} if target == "completed" else None)],
                    "user:u-1",
                    REASON,
                )
            except RegflowError:
                continue
            if resume:
                try:
                    job.resume("user:u-1")
                    job.cancel("user:u-1", None)
                except RegflowError:
                    pass
            statuses = job.statuses()
            for step in PLAN.conditional:
                state = job.sub_steps[step.key]
                if state.status == "skipped" and state.skipped_by_rule:
                    assert all(statuses[d] in SETTLED_WELL for d in step.depends_on), edits
                    assert not job.context.get("menuImportSucceeded"), edits


def starts_with_rule_skips(start: int) -> RegistrationJob:
    """A job whose menu rule skipped its dependents: after a failed import marked skipped by
    hand (failed job), or after the import was switched off (completed job); or one whose
    failed import blocks them."""
    if start == 2:  # not yet: the import failed, they are blocked
        return only_the_menu_import_failed()
    if start == 0:
        job = skipped_menu_after_failure()
    else:
        job = running_job(FULL_CONFIG | {"skip": ["menuImport"]})
        succeed(job, *PHASE1, *PHASE2_BUT_MENU)
        job.finish()
    return given(job)


class TestAnEditSaysWhichSkipsItTakesBack:
    """An edit, its dry run and the validation query warn of the rule's skips the edit takes
    back, naming exactly those the edit then records pending again."""

    def test_completing_the_menu_import_by_hand_warns_before_and_when_made(self) -> None:
        job = starts_with_rule_skips(0)
        warning = "optionSets, itemTags, skipped by the menu rule, become pending again: "
        warning += "the menu import succeeded after all"
        assert warning in job.preview_edits([("menuImport", "completed")])[-1].warnings
        validation = job.validation("menuImport")
        assert warning in validation.checks["completed"].warnings
        assert not any(
            warning in c.warnings for t, c in validation.checks.items() if t != "completed"
        )
        checks = job.edit([("menuImport", "completed", None)], "user:u-2", REASON)
        assert warning in checks[-1].warnings

    @hypothesis.settings(max_examples=200, deadline=None)
    @hypothesis.given(
        st.integers(0, 2),
        st.lists(
            st.lists(
                st.tuples(
                    st.sampled_from(PLAN.keys),
                    st.sampled_from(["completed", "failed", "skipped", "pending"]),
                ),
                min_size=1,
                max_size=3,
            ),
            min_size=1,
            max_size=4,
        ),
    )
    def test_the_warning_names_what_the_edit_then_records(
        self, start: int, requests: list[list[tuple[str, str]]]
    ) -> None:
        job = starts_with_rule_skips(start)
        for edits in requests:
            try:
                preview = job.preview_edits(edits)
            except RegflowError:
                continue
            made = [(k, t, {"menuId": "m"} if t == "completed" else None) for k, t in edits]
            job.collect_events()
            checks = job.edit(made, "user:u-1", REASON)
            events = job.collect_events()
            recorded = {
                e.sub_step: e.reason
                for e in events
                if isinstance(e, RegistrationJob.SubStepReopened)
            }
            reset = {k for c in preview if c.target == "pending" for k in c.cascade}
            reskipped = {
                e.sub_step: e.reason
                for e in events
                if isinstance(e, RegistrationJob.SubStepSkipped) and e.by_rule
                if e.sub_step in reset
            }
            hypothesis.event(f"reopens {len(recorded)}, re-skips {len(reskipped)}")
            warned = [w for c in preview for w in c.warnings]
            said = [w for w in warned if "by the menu rule" in w]
            expected = [reopen_warning(recorded)] if recorded else []
            expected += [reskip_warning(reskipped)] if reskipped else []
            assert said == expected, requests
            assert [c.warnings for c in checks] == [c.warnings for c in preview], requests
            settled = all(str(s) in SETTLED_WELL for s in job.statuses().values())
            hinted = any(w.startswith("every sub-step is settled") for w in warned)
            assert hinted == (settled and job.status != "completed"), (requests, warned)


class TestAnEditSaysWhatTheRuleThenDoes:
    def test_skipping_a_failed_import_that_settles_the_job_says_it_stays_failed(self) -> None:
        """The rule's skips of optionSets and itemTags leave nothing to run: the job stays
        failed until it is resumed, as for an edit that settles the last sub-step itself."""
        job = only_the_menu_import_failed()
        hint = "every sub-step is settled: the job stays failed until it is resumed"
        assert hint in job.validation("menuImport").checks["skipped"].warnings
        assert hint in job.preview_edits([("menuImport", "skipped")])[-1].warnings
        assert hint in job.edit([("menuImport", "skipped", None)], "user:u-1", REASON)[-1].warnings

    def test_a_reset_the_rule_undoes_at_once_says_so(self) -> None:
        """menuImport skipped in a completed job: a reset of optionSets is skipped again by
        the rule in the same save, so nothing runs; the edit says so, and that the job, now
        pending, stays so until it is resumed."""
        job = running_job(FULL_CONFIG | {"skip": ["menuImport"]})
        succeed(job, *PHASE1, *PHASE2_BUT_MENU)
        job.finish()
        job = given(job)
        job.edit([("optionSets", "completed", None)], "user:u-1", REASON)
        warnings = job.preview_edits([("optionSets", "pending")])[-1].warnings
        assert warnings == [
            "optionSets reset, but skipped again at once by the menu rule: menu import did not "
            "succeed",
            "every sub-step is settled: the job stays pending until it is resumed",
        ]
        assert job.edit([("optionSets", "pending", None)], "user:u-1", REASON)[-1].warnings == (
            warnings
        )
        assert job.sub_steps["optionSets"].status == "skipped"
