"""The seed's resume contract: last complete phase, the plan, and key generations on resume."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from hypothesis import given as given_data
from hypothesis import settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.plan import PLAN
from tests.unit.jobs import (
    FULL_CONFIG,
    fail,
    given,
    only_the_menu_import_failed,
    running_job,
    succeed,
    then,
    waiting_to_retry,
)

MENU_CHAIN = ["menuImport", "optionSets", "itemTags"]


buzz = only_the_menu_import_failed  # the seed's Buzz: its dependents blocked, the job failed


class TestResumingFrom:
    def test_buzz_resumes_from_phase1_with_the_menu_chain(self) -> None:
        plan = buzz().resume("user:u-1")
        assert plan is not None
        assert plan.as_answer() == {
            "resuming_from": "phase1",
            "resume_plan": {"phase": "phase2", "sub_steps": MENU_CHAIN},
        }

    def test_no_complete_phase_is_null(self) -> None:
        job = running_job()
        fail(job, "cloudwaitressAccount")
        job.cancel("user:u-1", None)
        plan = given(job).resume("user:u-1")
        assert plan is not None and plan.resuming_from is None
        assert plan.phase == "phase1" and "cloudwaitressAccount" in plan.sub_steps

    def test_a_completed_later_phase_does_not_count_past_an_open_one(self) -> None:
        job = running_job(FULL_CONFIG | {"skip": ["optionSets", "itemTags"]})
        fail(job, "cloudwaitressAccount")
        job.cancel("user:u-1", None)
        job = given(job)
        assert job.phase_statuses()["phase3"] == "completed"
        assert job.last_completed_phase() is None

    def test_the_event_records_what_the_answer_says(self) -> None:
        job = buzz()
        plan = job.resume("user:u-1", "menu fixed upstream")
        event = job.collect_events()[0]
        assert isinstance(event, RegistrationJob.ResumeRequested)
        assert plan is not None
        assert (event.resuming_from, event.resume_plan) == (
            "phase1",
            plan.as_answer()["resume_plan"],
        )


class TestKeyGenerations:
    def test_a_definitive_failure_resumes_under_a_new_key(self) -> None:
        job = buzz(transient=False)
        job.resume("user:u-1")
        job.claim("worker-2")
        assert job.start_sub_step("menuImport") == f"{job.id}:menuImport:2"

    def test_an_unknown_outcome_keeps_its_key(self) -> None:
        job = buzz(transient=True)
        plan = job.resume("user:u-1")
        assert plan is not None and plan.new_generations == {}
        job.claim("worker-2")
        assert job.start_sub_step("menuImport") == f"{job.id}:menuImport:1"

    def test_a_sub_step_a_cancel_stopped_while_it_waited_to_retry_gets_fresh_attempts(
        self,
    ) -> None:
        """Cancelled during an outage, at its fourth attempt's wait: the resume gives it a
        fresh run of attempts under the same key, as a failure would have earned (it was
        given one more call, then failed, with the attempts it had left)."""
        job = running_job()
        for _ in range(4):
            job.start_sub_step("codeGeneration")
            job.schedule_retry("codeGeneration", "HTTP 503", delay=8)
        job.cancel("user:u-1", "outage")
        job = given(job)
        assert job.sub_steps["codeGeneration"].status == "pending"
        plan = job.resume("user:u-1")
        assert (plan.fresh_attempts, plan.new_generations) == (["codeGeneration"], {})
        assert job.sub_steps["codeGeneration"].run_attempts == 0
        job.claim("worker-2")
        assert job.start_sub_step("codeGeneration") == f"{job.id}:codeGeneration:1"
        assert job.sub_steps["codeGeneration"].run_attempts == 1

    def test_a_pending_sub_step_never_tried_gets_no_fresh_attempts(self) -> None:
        job = buzz(transient=True)
        plan = job.resume("user:u-1")
        assert plan.fresh_attempts == ["menuImport"]

    def test_an_interrupted_call_keeps_its_key(self) -> None:
        job = running_job()
        job.start_sub_step("codeGeneration")
        job.claim("worker-2")
        assert job.sub_steps["codeGeneration"].status == "retrying"
        assert job.start_sub_step("codeGeneration") == f"{job.id}:codeGeneration:1"


def run_to_the_end(job: RegistrationJob) -> RegistrationJob:
    while runnable := job.runnable():
        succeed(job, *runnable, result={"codeInjectionId": "ci-1"})
    job.finish()
    return given(job)


def next_key_after(job: RegistrationJob, key: str) -> str:
    """The key `key` is called with next, after marking it failed by hand and a resume."""
    job.edit([(key, "failed", None)], "user:u-1", "broken on the API's side, redo it")
    plan = job.resume("user:u-1")
    assert plan is not None and key in plan.fresh_attempts
    job.claim("worker-2")
    return job.start_sub_step(key)


class TestMarkedFailedByHand:
    @settings(max_examples=30, deadline=None)
    @given_data(st.sampled_from(PLAN.keys))
    def test_a_completed_call_marked_failed_is_redone_under_a_new_key(self, key: str) -> None:
        """The old key would only replay the answer the API gave the first time."""
        job = run_to_the_end(running_job())
        if job.sub_steps[key].status != "completed":
            return  # skipped by the plan's rules: no call was made
        generation = job.sub_steps[key].generation
        assert next_key_after(job, key) == f"{job.id}:{key}:{generation + 1}"

    def test_a_call_whose_outcome_is_unknown_marked_failed_keeps_its_key(self) -> None:
        """The same key lets the API answer what it did, or do it now."""
        job = waiting_to_retry(60.0)
        job.cancel("user:u-1", None)
        assert next_key_after(job, "codeGeneration") == f"{job.id}:codeGeneration:1"


class TestVersionOneEvents:
    """ResumeRequested v1 named the phase where work started; it is upcast, never rewritten."""

    def mapper(self) -> Mapper[object]:
        transcoder = JSONTranscoder()
        transcoder.register(UUIDAsHex())
        transcoder.register(DatetimeAsISO())
        return Mapper(transcoder=transcoder)

    def stored_v1(self, started_in: str | None) -> StoredEvent:
        state = {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2026-12-01T10:00:00+00:00"},
            "actor": "user:u-1",
            "reason": None,
            "resuming_from": started_in,
            "fresh_attempts": ["menuImport"],
        }
        return StoredEvent(
            uuid4(),
            7,
            "regflow:RegistrationJob.ResumeRequested",
            JSONTranscoder().encode(state),
        )

    def test_v1_is_read_with_the_seed_meaning(self) -> None:
        event = self.mapper().to_domain_event(self.stored_v1("phase2"))
        assert isinstance(event, RegistrationJob.ResumeRequested)
        assert event.resuming_from == "phase1"
        assert event.resume_plan == {"phase": "phase2", "sub_steps": None}
        assert event.new_generations == {}

    def test_v1_from_phase1_has_no_complete_phase(self) -> None:
        event = self.mapper().to_domain_event(self.stored_v1("phase1"))
        assert event.resuming_from is None  # type: ignore[attr-defined]

    def test_new_events_are_stored_as_version_2(self) -> None:
        job = buzz()
        job.resume("user:u-1")
        stored = self.mapper().to_stored_event(job.collect_events()[0])
        assert b'"class_version":2' in stored.state.replace(b" ", b"")

    def test_a_step_6_start_of_version_1_has_no_reason(self) -> None:
        """Step6Started v1 kept no reason: a resume's was dropped; it reads as none."""
        state = {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2026-12-01T10:00:00+00:00"},
            "actor": "user:u-1",
        }
        stored = StoredEvent(
            uuid4(), 2, "regflow:RegistrationJob.Step6Started", JSONTranscoder().encode(state)
        )
        event = self.mapper().to_domain_event(stored)
        assert isinstance(event, RegistrationJob.Step6Started)
        assert (event.actor, event.reason) == ("user:u-1", None)


def test_resume_records_only_the_request_and_the_reopened_phases() -> None:
    job = buzz()
    job.resume("user:u-1")
    assert then(job) == ["ResumeRequested", "PhaseReopened", "PhaseReopened", "PhaseReopened"]


def test_retry_now_on_a_completed_job_points_at_a_reset_not_a_resume() -> None:
    """A resume of a completed job runs nothing: the way to run a sub-step again is a reset."""
    job = run_to_the_end(running_job())
    assert job.status == "completed"
    try:
        job.retry_now("websiteConfig", "user:u-1")
    except RegflowError as refused:
        assert "reset websiteConfig" in str(refused) and "resume" not in str(refused)
    else:
        raise AssertionError("a completed job's sub-step was retried")
    assert job.resume("user:u-1").sub_steps == []
