"""Given events, when an engine command, then events: the job aggregate's run commands."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, StoredEvent, UUIDAsHex

from domain.exceptions import IllegalTransition
from domain.job import RegistrationJob
from tests.unit.jobs import PHASE1, fail, given, new_job, refused, running_job, succeed, then


class TestStartStep6:
    def test_start_records_step6_started(self) -> None:
        job = given(new_job())
        job.start_step6("user:u-1")
        assert then(job) == ["Step6Started"]
        assert job.status == "in_progress"

    def test_disabled_sub_steps_are_skipped_with_reason(self) -> None:
        job = given(new_job({"menu": {"menu_id": "m-1"}}))
        job.start_step6("user:u-1")
        assert then(job) == ["Step6Started"] + ["SubStepSkipped"] * 3
        assert job.sub_steps["paymentConfig"].reason == "no payment set-up in execution_config"
        assert job.sub_steps["syncOnboardingUser"].status == "skipped"

    def test_second_start_is_refused(self) -> None:
        job = given(running_job())
        refused(job, lambda: job.start_step6("user:u-1"), IllegalTransition)


class TestClaim:
    def test_claim_records_the_worker(self) -> None:
        job = given(new_job())
        job.start_step6("user:u-1")
        job.collect_events()
        job.claim("worker-2")
        assert then(job) == ["Claimed"]
        assert job.worker_id == "worker-2"

    def test_claim_interrupts_calls_left_in_flight(self) -> None:
        job = running_job()
        key = job.start_sub_step("cloudwaitressAccount")
        job = given(job)
        job.claim("worker-2")
        assert then(job) == ["Claimed", "SubStepInterrupted"]
        assert job.sub_steps["cloudwaitressAccount"].status == "retrying"
        assert job.idempotency_key("cloudwaitressAccount") == key

    def test_the_claims_interruption_is_recorded_as_the_engines(self) -> None:
        job = running_job()
        job.start_sub_step("cloudwaitressAccount")
        job = given(job)
        job.claim("worker-2")
        interrupted = [e for e in job.collect_events() if type(e).__name__ == "SubStepInterrupted"]
        assert [e.actor for e in interrupted] == ["engine"]


class TestStartSubStep:
    def test_first_start_in_a_phase_records_phase_started(self) -> None:
        job = given(running_job())
        key = job.start_sub_step("codeGeneration")
        assert then(job) == ["PhaseStarted", "SubStepStarted"]
        assert key == f"{job.id}:codeGeneration:1"
        assert job.sub_steps["codeGeneration"].attempts == 1

    def test_sub_step_of_a_later_phase_waits_for_earlier_phases(self) -> None:
        job = running_job()
        succeed(job, "cloudwaitressAccount")
        job = given(job)
        refused(job, lambda: job.start_sub_step("restaurantRegistration"), IllegalTransition)

    def test_phase_two_starts_when_phase_one_is_settled(self) -> None:
        job = running_job()
        succeed(job, *PHASE1)
        assert "restaurantRegistration" in given(job).runnable()

    def test_unmet_dependency_refuses_start(self) -> None:
        job = running_job()
        succeed(job, *PHASE1[1:])
        fail(job, "cloudwaitressAccount")
        job = given(job)
        refused(job, lambda: job.start_sub_step("restaurantRegistration"), IllegalTransition)


class TestOutcomes:
    def test_complete_records_result_and_phase_completion(self) -> None:
        job = running_job()
        succeed(job, *PHASE1[:3])
        job.start_sub_step("uploadImages")
        job = given(job)
        job.complete_sub_step("uploadImages", {"imageCount": 3})
        assert then(job) == ["SubStepCompleted", "PhaseCompleted"]
        assert job.sub_steps["uploadImages"].result == {"imageCount": 3}

    def test_schedule_retry_waits_with_the_error(self) -> None:
        job = running_job()
        job.start_sub_step("codeGeneration")
        job = given(job)
        job.schedule_retry("codeGeneration", "HTTP 503: unavailable", delay=2.0)
        assert then(job) == ["SubStepRetryScheduled"]
        state = job.sub_steps["codeGeneration"]
        assert (state.status, state.error) == ("retrying", "HTTP 503: unavailable")
        assert state.retry_at is not None

    def test_retry_keeps_the_idempotency_key_and_counts_attempts(self) -> None:
        job = running_job()
        first = job.start_sub_step("codeGeneration")
        job.schedule_retry("codeGeneration", "HTTP 503", delay=1.0)
        assert job.start_sub_step("codeGeneration") == first
        assert job.sub_steps["codeGeneration"].attempts == 2

    def test_attempts_spared_by_an_outage_are_in_the_log_for_the_next_worker(self) -> None:
        job = running_job()
        for _ in range(3):
            job.start_sub_step("codeGeneration")
            job.schedule_retry("codeGeneration", "HTTP 503", delay=1.0, counted=False)
        job.start_sub_step("codeGeneration")
        job.schedule_retry("codeGeneration", "HTTP 503", delay=1.0)
        taken_over = given(job)
        state = taken_over.sub_steps["codeGeneration"]
        assert (state.run_attempts, state.spared) == (4, 3)

    def test_a_resume_gives_fresh_attempts_and_forgets_spared_ones(self) -> None:
        job = running_job()
        job.start_sub_step("codeGeneration")
        job.schedule_retry("codeGeneration", "HTTP 503", delay=1.0, counted=False)
        job.start_sub_step("codeGeneration")
        job.fail_sub_step("codeGeneration", "HTTP 503", transient=True)
        job.cancel("user:u-1", None)
        job.resume("user:u-1")
        state = given(job).sub_steps["codeGeneration"]
        assert (state.run_attempts, state.spared) == (0, 0)

    def test_fail_blocks_only_dependents(self) -> None:
        job = running_job()
        succeed(job, *PHASE1)
        succeed(job, "restaurantRegistration")
        fail(job, "menuImport")
        job = given(job)
        shown = job.shown_statuses()
        assert shown["optionSets"] == shown["itemTags"] == "blocked"
        assert set(job.runnable()) >= {"websiteConfig", "servicesConfig", "paymentConfig"}


class TestFinish:
    def test_all_completed_finishes_the_job(self) -> None:
        job = running_job()
        while job.runnable():
            succeed(job, *job.runnable())
        job = given(job)
        assert job.finish() == "completed"
        assert then(job) == ["JobCompleted"]

    def test_a_failure_finishes_the_job_as_failed_with_what_it_blocked(self) -> None:
        job = running_job()
        succeed(job, *PHASE1)
        succeed(job, "restaurantRegistration")
        fail(job, "menuImport")
        succeed(job, *job.runnable())
        job = given(job)
        assert job.finish() == "failed"
        failed = job.collect_events()[0]
        assert (failed.failed, failed.blocked) == (["menuImport"], ["optionSets", "itemTags"])

    def test_finish_is_refused_while_work_remains(self) -> None:
        job = given(running_job())
        refused(job, job.finish, IllegalTransition)


@pytest.mark.parametrize(
    "command",
    [
        lambda job: job.complete_sub_step("codeGeneration", {}),
        lambda job: job.fail_sub_step("codeGeneration", "x", transient=False),
        lambda job: job.schedule_retry("codeGeneration", "x", delay=1.0),
    ],
    ids=["complete", "fail", "schedule_retry"],
)
def test_outcome_of_a_sub_step_not_in_flight_is_refused(command: object) -> None:
    job = given(running_job())
    refused(job, lambda: command(job), IllegalTransition)  # type: ignore[operator]


MOMENT = {"_type_": "datetime_iso", "_data_": "2026-12-01T10:00:00+00:00"}


def read_stored(topic_name: str, state: dict[str, object]) -> object:
    """The event a store holding `state` under the job's `topic_name` reads back."""
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    topic = f"regflow:RegistrationJob.{topic_name}"
    stored = StoredEvent(uuid4(), 5, topic, JSONTranscoder().encode(state))
    return Mapper(transcoder=transcoder).to_domain_event(stored)


class TestRetryScheduledVersionOne:
    """SubStepRetryScheduled v1 had no `counted`: every attempt then counted, so it reads True."""

    def test_v1_is_read_as_a_counted_attempt(self) -> None:
        moment = MOMENT
        state = {
            "timestamp": moment,
            "sub_step": "codeGeneration",
            "attempt": 1,
            "error": "HTTP 503",
            "delay": 1.0,
            "retry_at": moment,
            "honoured_retry_after": False,
        }
        event = read_stored("SubStepRetryScheduled", state)
        assert isinstance(event, RegistrationJob.SubStepRetryScheduled)
        assert event.counted is True


class TestInterruptedVersionOne:
    """SubStepInterrupted v1 had no `actor`, and the timeline showed each as the engine's (an
    edit's too); it still reads so, so that the views of stored events do not change."""

    def test_v1_is_read_as_the_engines(self) -> None:
        state = {
            "timestamp": MOMENT,
            "sub_step": "codeGeneration",
            "attempt": 1,
            "idempotency_key": "job:codeGeneration:1",
        }
        event = read_stored("SubStepInterrupted", state)
        assert isinstance(event, RegistrationJob.SubStepInterrupted)
        assert (event.actor, event.idempotency_key) == ("engine", "job:codeGeneration:1")
