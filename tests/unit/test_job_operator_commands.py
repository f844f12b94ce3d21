"""Given events, when an operator command, then events: resume, cancel and manual edits."""

from __future__ import annotations

from typing import Any

import pytest

from domain.exceptions import (
    DependencyNotSatisfied,
    EditRejected,
    IllegalTransition,
    InvalidInput,
    JobIsRunning,
    NothingToResume,
    SubStepInFlight,
)
from domain.job import RegistrationJob
from tests.unit.jobs import (
    PHASE1,
    PHASE2,
    fail,
    given,
    new_job,
    refused,
    running_job,
    succeed,
    then,
    waiting_to_retry,
)

REASON = "done by hand in the CloudWaitress admin"


def failed_at_restaurant_registration():
    job = running_job()
    succeed(job, *PHASE1)
    fail(job, "restaurantRegistration")
    job.finish()
    return job


def edit_refused(
    job: RegistrationJob, edit: tuple[str, str, Any], error: type[Exception], reason: str = REASON
) -> Exception:
    """One edit the job must refuse with `error`, recording nothing."""
    return refused(job, lambda: job.edit([edit], "user:u-1", reason), error)


def failed_at_menu_import():
    job = running_job()
    succeed(job, *PHASE1, "restaurantRegistration")
    fail(job, "menuImport")
    while job.runnable():
        succeed(job, *job.runnable())
    job.finish()
    return job


def completed_job():
    job = running_job()
    while job.runnable():
        succeed(job, *job.runnable())
    job.finish()
    return job


class TestCancel:
    def test_cancel_stops_the_job_and_releases_waiting_retries(self) -> None:
        job = waiting_to_retry(delay=30.0)
        job.cancel("user:u-1", "wrong menu")
        assert then(job) == ["JobCancelled"]
        assert job.status == "cancelled"
        assert job.sub_steps["codeGeneration"].status == "pending"

    def test_cancel_of_a_completed_job_is_refused(self) -> None:
        job = given(completed_job())
        refused(job, lambda: job.cancel("user:u-1", None), IllegalTransition)


class TestRetryNow:
    def test_retry_now_is_recorded_for_a_waiting_sub_step(self) -> None:
        job = waiting_to_retry(delay=60.0)
        job.retry_now("codeGeneration", "user:u-1")
        assert then(job) == ["SubStepRetryRequested"]

    def test_retry_now_is_refused_when_nothing_waits(self) -> None:
        job = given(running_job())
        refused(job, lambda: job.retry_now("codeGeneration", "user:u-1"), IllegalTransition)

    def test_retry_now_is_refused_while_the_api_asked_to_wait(self) -> None:
        """Retry-After is honoured: an answer that was accepted would promise a call that the
        registration API's pause holds back (the view said "now" for the next 40 s)."""
        job = running_job()
        job.start_sub_step("codeGeneration")
        job.schedule_retry("codeGeneration", "HTTP 429", delay=40.0, retry_after=True)
        job = given(job)
        error = refused(job, lambda: job.retry_now("codeGeneration", "user:u-1"), IllegalTransition)
        assert "Retry-After" in str(error) and "tried at" in str(error)

    def test_retry_now_is_taken_once_the_api_pause_is_over(self) -> None:
        job = running_job()
        job.start_sub_step("codeGeneration")
        job.schedule_retry("codeGeneration", "HTTP 429", delay=0.0, retry_after=True)
        job = given(job)
        job.retry_now("codeGeneration", "user:u-1")
        assert then(job) == ["SubStepRetryRequested"]

    def test_a_later_wait_of_its_own_can_be_cut_again(self) -> None:
        job = running_job()
        job.start_sub_step("codeGeneration")
        job.schedule_retry("codeGeneration", "HTTP 429", delay=40.0, retry_after=True)
        job.start_sub_step("codeGeneration")
        job.schedule_retry("codeGeneration", "HTTP 503", delay=40.0)
        job = given(job)
        job.retry_now("codeGeneration", "user:u-1")
        assert then(job) == ["SubStepRetryRequested"]


class TestResume:
    def test_resume_gives_failed_sub_steps_fresh_attempts(self) -> None:
        job = given(failed_at_menu_import())
        plan = job.resume("user:u-1")
        assert plan is not None and plan.resuming_from == "phase1"
        assert then(job) == ["ResumeRequested", *["PhaseReopened"] * 3]
        assert job.sub_steps["menuImport"].status == "pending"
        assert job.sub_steps["menuImport"].run_attempts == 0
        assert job.runnable() == ["menuImport"]

    def test_resume_after_phase_one_starts_at_phase_two(self) -> None:
        job = running_job()
        succeed(job, *PHASE1)
        job.cancel("user:u-1", None)
        job = given(job)
        plan = job.resume("user:u-1")
        assert plan is not None
        assert (plan.resuming_from, plan.phase) == ("phase1", "phase2")
        assert job.runnable() == ["restaurantRegistration"]

    def test_resume_of_a_completed_job_records_nothing(self) -> None:
        job = given(completed_job())
        plan = job.resume("user:u-1")
        assert (plan.resuming_from, plan.phase, plan.sub_steps) == ("phase4", None, [])
        assert then(job) == []

    def test_resume_without_step6_progress_is_refused(self) -> None:
        job = given(new_job())
        refused(job, lambda: job.resume("user:u-1"), NothingToResume)

    def test_a_job_cancelled_before_step6_started_is_started_by_a_resume(self) -> None:
        job = new_job()
        job.cancel("user:u-1", "not yet")
        job = given(job)
        plan = job.resume("user:u-1", "customer back")
        started = job.collect_events()[0]
        assert type(started).__name__ == "Step6Started"
        assert started.reason == "customer back"  # type: ignore[attr-defined]
        assert (job.status, plan.resuming_from, plan.phase) == ("in_progress", None, "phase1")
        assert job.runnable() == given(running_job()).runnable()

    def test_retry_now_before_step6_started_says_so(self) -> None:
        job = given(new_job())
        exc = refused(job, lambda: job.retry_now("codeGeneration", "u"), IllegalTransition)
        assert "has not started" in str(exc)

    def test_resume_of_a_running_job_is_refused(self) -> None:
        job = given(running_job())
        refused(job, lambda: job.resume("user:u-1"), JobIsRunning)


class TestMarkStatus:
    def test_mark_completed_with_result_feeds_the_context(self) -> None:
        job = running_job()
        succeed(job, "cloudwaitressAccount", "createOnboardingUser", "uploadImages")
        fail(job, "codeGeneration")
        job.cancel("user:u-1", "fix code generation by hand")
        job = given(job)
        result = {"codeInjectionId": "ci-typed-by-hand"}
        job.edit([("codeGeneration", "completed", result)], "user:u-1", REASON)
        assert then(job) == ["ManualStatusSet", "PhaseCompleted"]
        assert job.context["codeInjectionId"] == "ci-typed-by-hand"

    def test_mark_completed_with_a_failed_dependency_names_it(self) -> None:
        job = given(failed_at_restaurant_registration())
        exc = edit_refused(job, ("websiteConfig", "completed", None), DependencyNotSatisfied)
        assert exc.errors == [  # type: ignore[attr-defined]
            "Cannot mark websiteConfig as completed: restaurantRegistration is failed"
        ]

    def test_mark_failed_warns_which_dependents_it_blocks(self) -> None:
        job = given(failed_at_restaurant_registration())
        checks = job.edit([("cloudwaitressAccount", "failed", None)], "user:u-1", REASON)
        assert checks[0].warnings[0].startswith("Marking cloudwaitressAccount as failed blocks")

    def test_mark_skipped_warns_dependents_run_without_it(self) -> None:
        job = given(failed_at_menu_import())
        checks = job.edit([("menuImport", "skipped", None)], "user:u-1", REASON)
        assert checks[0].warnings == [
            "Marking menuImport as skipped skips optionSets, itemTags: menu import did not succeed",
            # the rule's skips settle the job's last sub-steps: nothing is left to run
            "every sub-step is settled: the job stays failed until it is resumed",
        ]

    def test_marking_the_same_status_is_refused(self) -> None:
        job = given(failed_at_menu_import())
        edit_refused(job, ("menuImport", "failed", None), EditRejected)

    def test_edits_of_a_running_job_are_refused(self) -> None:
        job = given(running_job())
        edit_refused(job, ("codeGeneration", "skipped", None), JobIsRunning)

    def test_an_edit_needs_a_reason(self) -> None:
        job = given(failed_at_menu_import())
        edit_refused(job, ("menuImport", "skipped", None), InvalidInput, reason=" ")

    def test_unknown_sub_step_is_refused_with_a_per_item_error(self) -> None:
        job = given(failed_at_menu_import())
        exc = edit_refused(job, ("menuExport", "skipped", None), EditRejected)
        assert exc.errors == ["updates[0]: unknown sub-step menuExport"]  # type: ignore[attr-defined]

    def test_marking_failed_fails_a_completed_job_and_a_resume_runs_that_sub_step(
        self,
    ) -> None:
        job = given(completed_job())
        job.edit([("itemTags", "failed", None)], "user:u-1", REASON)
        assert job.status == "failed"
        plan = job.resume("user:u-1")
        assert (job.status, plan.sub_steps) == ("in_progress", ["itemTags"])

    def test_marking_skipped_leaves_a_completed_job_completed(self) -> None:
        job = given(completed_job())
        job.edit([("itemTags", "skipped", None)], "user:u-1", REASON)
        assert job.status == "completed"


class TestReset:
    def test_reset_cascades_to_dependents_with_a_new_generation(self) -> None:
        job = given(failed_at_menu_import())
        checks = job.edit([("restaurantRegistration", "pending", None)], "user:u-1", REASON)
        assert then(job) == ["SubStepReset", *["PhaseReopened"] * 3]
        assert checks[0].cascade == list(PHASE2)
        assert job.idempotency_key("menuImport").endswith(":menuImport:2")

    def test_reset_reopens_a_completed_job(self) -> None:
        job = given(completed_job())
        job.edit([("itemTags", "pending", None)], "user:u-1", REASON)
        assert job.status == "pending"
        plan = job.resume("user:u-1")
        assert plan is not None
        assert (plan.resuming_from, plan.phase) == ("phase3", "phase4")
        assert plan.sub_steps == ["itemTags"]

    def test_reset_of_an_all_pending_chain_is_refused(self) -> None:
        job = running_job()
        job.cancel("user:u-1", None)
        job = given(job)
        edit_refused(job, ("menuImport", "pending", None), EditRejected)


class TestBulkEdits:
    def test_bulk_edits_apply_in_order(self) -> None:
        job = given(failed_at_restaurant_registration())
        edits = [("restaurantRegistration", "completed", None), ("menuImport", "completed", None)]
        job.edit(edits, "user:u-1", REASON)
        assert then(job)[:2] == ["ManualStatusSet", "ManualStatusSet"]

    def test_one_invalid_edit_applies_none(self) -> None:
        job = given(failed_at_restaurant_registration())
        edits = [("menuImport", "completed", None), ("restaurantRegistration", "completed", None)]
        exc = refused(job, lambda: job.edit(edits, "user:u-1", REASON), EditRejected)
        assert exc.errors == [  # type: ignore[attr-defined]
            "updates[0]: Cannot mark menuImport as completed: restaurantRegistration is failed"
        ]
        assert str(exc) == "1 of the 2 edits is invalid"

    def test_the_refusal_counts_the_edits_refused_not_their_errors(self) -> None:
        """One edit with two unmet dependencies was said as `2 of the edits are invalid`."""
        job = given(new_job())
        edits = [
            ("itemTags", "skipped", None),
            ("websiteConfig", "completed", None),  # two dependencies pending
            ("syncOnboardingUser", "completed", None),  # two dependencies pending
        ]
        exc = refused(job, lambda: job.edit(edits, "user:u-1", REASON), DependencyNotSatisfied)
        assert str(exc) == "2 of the 3 edits are invalid"
        assert len(exc.errors) == 4  # type: ignore[attr-defined]


class TestAuditOfRefusals:
    def test_refused_edit_is_recorded_without_changing_state(self) -> None:
        job = given(failed_at_menu_import())
        before = job.statuses()
        job.refuse_edit("user:u-2", {"sub_step": "optionSets"}, ["Cannot mark ..."])
        assert then(job) == ["EditRefused"]
        assert job.statuses() == before


class TestLegacyImport:
    def test_import_takes_over_statuses_and_stops_as_failed(self) -> None:
        job = given(new_job())
        job.import_legacy(
            {"cloudwaitressAccount": {"status": "completed"}, "menuImport": {"status": "failed"}},
            None,
            "system",
        )
        assert then(job) == ["LegacyProgressImported"]
        assert job.status == "failed"
        assert job.sub_steps["menuImport"].status == "failed"

    def test_second_import_is_refused(self) -> None:
        job = new_job()
        job.import_legacy({}, None, "system")
        job = given(job)
        refused(job, lambda: job.import_legacy({}, None, "system"), IllegalTransition)


@pytest.mark.parametrize("target", ["completed", "failed", "skipped", "pending"])
def test_edits_of_an_in_flight_sub_step_are_refused(target: str) -> None:
    job = running_job()
    job.start_sub_step("codeGeneration")
    job.cancel("user:u-1", None)
    job = given(job)
    edit_refused(job, ("codeGeneration", target, None), SubStepInFlight)
