"""Folds from job events to sub_step_progress and the job summary, one event type at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import uuid4

import pytest

from domain.batch import RegistrationBatch
from domain.job import RegistrationJob
from domain.secrets import redact
from infrastructure.event_store import VersionsSkipped
from projections.folds.jobs import apply_event, job_summary, progress_document, public, replay
from tests.unit.jobs import FULL_CONFIG, PHASE1

REASON = "done by hand in the CloudWaitress admin"


class Story:
    """A job driven by commands, keeping every event it recorded, in order."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        config = FULL_CONFIG if config is None else config
        self.job = RegistrationJob.register(uuid4(), "org-1", {"name": "Buzz"}, config, "user:u-1")
        self.events: list[Any] = list(self.job.collect_events())

    def do(self, command: Callable[[RegistrationJob], Any]) -> Story:
        command(self.job)
        self.events += self.job.collect_events()
        return self

    def running(self) -> Story:
        return self.do(lambda j: j.start_step6("user:u-1")).do(lambda j: j.claim("worker-1"))

    def succeed(self, *keys: str, result: dict[str, Any] | None = None) -> Story:
        for key in keys:
            self.do(lambda j, k=key: j.start_sub_step(k))
            self.do(lambda j, k=key: j.complete_sub_step(k, result or {}))
        return self

    def fail(self, key: str, error: str = "HTTP 400: bad menu") -> Story:
        self.do(lambda j: j.start_sub_step(key))
        return self.do(lambda j: j.fail_sub_step(key, error, transient=False))

    def finish_all(self) -> Story:
        while self.job.runnable():
            self.succeed(*self.job.runnable())
        return self.do(lambda j: j.finish())

    def edit(self, key: str, status: str, result: dict[str, Any] | None = None) -> Story:
        return self.do(lambda j: j.edit([(key, status, result)], "user:u-2", REASON))

    @property
    def doc(self) -> dict[str, Any]:
        return progress_document(self.events)

    @property
    def summary(self) -> dict[str, Any]:
        return job_summary(replay(self.events))

    def sub(self, key: str) -> dict[str, Any]:
        return next(
            p["sub_steps"][key] for p in self.doc["phases"].values() if key in p["sub_steps"]
        )


def is_iso(text: str | None) -> bool:
    return text is not None and datetime.fromisoformat(text).tzinfo is not None


class TestCreatedAndStarted:
    def test_a_new_job_is_all_pending_with_no_current_phase(self) -> None:
        story = Story()
        assert story.doc["current_phase"] is None
        assert {
            s["status"] for p in story.doc["phases"].values() for s in p["sub_steps"].values()
        } == {"pending"}
        assert story.summary["status"] == "pending"

    def test_step6_start_records_skipped_sub_steps_with_their_reason(self) -> None:
        story = Story({"account": {"email": "a@b.example"}}).running()
        payment = story.sub("paymentConfig")
        assert payment["status"] == "skipped"
        assert payment["reason"] == "no payment set-up in execution_config"
        assert is_iso(payment["completed_at"])
        assert story.summary["status"] == "in_progress"
        assert story.doc["current_phase"] == "phase1"

    def test_claim_changes_no_sub_step(self) -> None:
        story = Story().do(lambda j: j.start_step6("user:u-1"))
        before = story.doc
        assert story.do(lambda j: j.claim("worker-1")).doc == before


class TestAttempts:
    def test_a_started_sub_step_is_in_progress_with_its_attempt_and_start_time(self) -> None:
        story = Story().running().do(lambda j: j.start_sub_step("codeGeneration"))
        sub = story.sub("codeGeneration")
        assert (sub["status"], sub["attempts"]) == ("in_progress", 1)
        assert is_iso(sub["started_at"]) and sub["completed_at"] is None
        assert story.doc["phases"]["phase1"]["status"] == "in_progress"

    def test_a_scheduled_retry_shows_retrying_with_the_error_and_when(self) -> None:
        story = Story().running().do(lambda j: j.start_sub_step("codeGeneration"))
        story.do(lambda j: j.schedule_retry("codeGeneration", "HTTP 503", delay=30.0))
        sub = story.sub("codeGeneration")
        assert (sub["status"], sub["error"], sub["attempts"]) == ("retrying", "HTTP 503", 1)
        started = datetime.fromisoformat(sub["started_at"])
        assert (datetime.fromisoformat(sub["retry_at"]) - started).total_seconds() >= 30

    def test_retry_now_brings_the_retry_time_forward(self) -> None:
        story = Story().running().do(lambda j: j.start_sub_step("codeGeneration"))
        story.do(lambda j: j.schedule_retry("codeGeneration", "HTTP 503", delay=300.0))
        story.do(lambda j: j.retry_now("codeGeneration", "user:u-2"))
        assert story.sub("codeGeneration")["retry_at"] == story.events[-1].timestamp.isoformat()

    def test_an_interrupted_sub_step_waits_to_be_retried(self) -> None:
        story = Story().running().do(lambda j: j.start_sub_step("codeGeneration"))
        story.do(lambda j: j.claim("worker-2"))
        sub = story.sub("codeGeneration")
        assert sub["status"] == "retrying"
        assert sub["error"].startswith("interrupted")

    def test_a_completed_sub_step_shows_its_result_without_secrets_and_feeds_the_context(
        self,
    ) -> None:
        result = {"codeInjectionId": "ci-1", "service_token": "abc"}
        story = Story().running().succeed("codeGeneration", result=result)
        sub = story.sub("codeGeneration")
        assert sub["result"] == {"codeInjectionId": "ci-1", "service_token": "***"}
        assert is_iso(sub["completed_at"])
        assert story.doc["context"]["codeInjectionId"] == "ci-1"
        assert story.doc["context"]["results"]["codeGeneration"]["service_token"] == "***"

    def test_a_failed_sub_step_blocks_its_dependents_and_is_the_last_error(self) -> None:
        story = Story().running().succeed(*PHASE1, "restaurantRegistration").fail("menuImport")
        assert story.sub("menuImport")["error"] == "HTTP 400: bad menu"
        assert story.sub("optionSets")["status"] == "blocked"
        assert story.sub("itemTags")["status"] == "blocked"
        assert story.summary["last_error"] == "menuImport: HTTP 400: bad menu"
        assert story.summary["counts"]["blocked"] == 2

    def test_a_settled_phase_moves_the_current_phase_on(self) -> None:
        story = Story().running().succeed(*PHASE1)
        assert story.doc["phases"]["phase1"]["status"] == "completed"
        assert type(story.events[-1]).__name__ == "PhaseCompleted"
        assert story.doc["current_phase"] == "phase2"


class TestJobOutcome:
    def test_a_completed_job_counts_every_sub_step_completed(self) -> None:
        story = Story().running().finish_all()
        assert story.summary["status"] == "completed"
        assert story.summary["counts"]["completed"] == 12
        assert story.doc["current_phase"] == "phase4"
        assert story.summary["version"] == len(story.events)

    def test_a_failed_job_keeps_its_error_and_the_blocked_sub_steps(self) -> None:
        story = Story().running().succeed(*PHASE1, "restaurantRegistration").fail("menuImport")
        story.finish_all()
        assert story.summary["status"] == "failed"
        assert story.summary["last_error"] == "menuImport: HTTP 400: bad menu"
        assert story.doc["phases"]["phase3"]["status"] == "failed"

    def test_a_cancelled_job_releases_sub_steps_waiting_to_retry(self) -> None:
        story = Story().running().do(lambda j: j.start_sub_step("codeGeneration"))
        story.do(lambda j: j.schedule_retry("codeGeneration", "HTTP 503", delay=30.0))
        story.do(lambda j: j.cancel("user:u-2", "wrong menu"))
        assert story.summary["status"] == "cancelled"
        assert story.sub("codeGeneration")["status"] == "pending"
        assert story.sub("codeGeneration")["retry_at"] is None


def failed_at_menu_import() -> Story:
    story = Story().running().succeed(*PHASE1, "restaurantRegistration").fail("menuImport")
    return story.finish_all()


class TestManualEdits:
    def test_marking_completed_with_a_result_feeds_the_context(self) -> None:
        story = Story().running().fail("codeGeneration").finish_all()
        story.edit("codeGeneration", "completed", {"codeInjectionId": "typed-in"})
        assert story.sub("codeGeneration")["status"] == "completed"
        assert story.sub("codeGeneration")["reason"] == REASON
        assert story.doc["context"]["codeInjectionId"] == "typed-in"

    def test_marking_failed_blocks_the_dependents(self) -> None:
        story = Story().running().fail("codeGeneration").finish_all()
        story.edit("codeGeneration", "completed").edit("codeGeneration", "failed")
        assert story.sub("codeGeneration")["error"] == f"marked failed: {REASON}"
        assert story.sub("websiteConfig")["status"] == "blocked"

    def test_marking_menu_import_skipped_skips_its_conditional_dependents(self) -> None:
        story = failed_at_menu_import().edit("menuImport", "skipped")
        for key in ("optionSets", "itemTags"):
            assert story.sub(key)["status"] == "skipped"
            assert story.sub(key)["reason"] == "menu import did not succeed"
        assert story.doc["context"]["menuImportSucceeded"] is False

    def test_marking_a_plain_dependency_skipped_unblocks_its_dependents(self) -> None:
        story = Story().running().succeed(*PHASE1).fail("restaurantRegistration").finish_all()
        story.edit("restaurantRegistration", "skipped")
        assert story.sub("menuImport")["status"] == "pending"

    def test_a_reset_cascades_to_every_dependent_and_reopens_a_completed_job(self) -> None:
        story = Story().running().finish_all().edit("restaurantRegistration", "pending")
        cascade = ("restaurantRegistration", "websiteConfig", "menuImport", "optionSets")
        for key in cascade:
            sub = story.sub(key)
            assert (sub["status"], sub["attempts"], sub["result"]) == ("pending", 0, {})
        assert story.sub("cloudwaitressAccount")["status"] == "completed"
        assert story.summary["status"] == "pending"
        assert story.doc["current_phase"] == "phase2"

    def test_a_refused_edit_changes_nothing_but_the_version(self) -> None:
        story = failed_at_menu_import()
        before = story.doc
        story.do(lambda j: j.refuse_edit("user:u-2", {"sub_step": "itemTags"}, ["blocked"]))
        assert story.doc == before
        assert story.summary["version"] == len(story.events)


class TestResume:
    def test_resume_gives_failed_sub_steps_fresh_attempts_and_unblocks_dependents(self) -> None:
        story = failed_at_menu_import().do(lambda j: j.resume("user:u-2"))
        assert story.summary["status"] == "in_progress"
        assert story.sub("menuImport")["status"] == "pending"
        assert story.sub("optionSets")["status"] == "pending"
        assert story.summary["counts"]["blocked"] == 0


LEGACY = {
    "cloudwaitressAccount": {"status": "completed", "attempts": 1, "result": {"password": "x"}},
    "codeGeneration": {"status": "completed", "attempts": 2},
    "restaurantRegistration": {"status": "failed", "attempts": 3, "error": "ECONNRESET"},
}


class TestLegacyImport:
    def test_imported_progress_shows_statuses_attempts_errors_and_blocked_dependents(self) -> None:
        context = {"codeInjectionId": "legacy-ci", "codeGenerationFilePaths": {"head": "/h"}}
        story = Story().do(lambda j: j.import_legacy(LEGACY, context, "user:importer"))
        assert story.summary["status"] == "failed"
        assert story.sub("restaurantRegistration")["error"] == "ECONNRESET"
        assert story.sub("codeGeneration")["attempts"] == 2
        assert story.sub("cloudwaitressAccount")["result"] == {"password": "***"}
        assert story.sub("menuImport")["status"] == "blocked"
        assert story.doc["context"]["codeInjectionId"] == "legacy-ci"
        assert story.doc["context"]["codeGenerationFilePaths"] == {"head": "/h"}


class TestIncrementalFold:
    def test_folding_event_by_event_gives_what_a_replay_gives(self) -> None:
        story = failed_at_menu_import().do(lambda j: j.resume("user:u-2"))
        job = None
        for event in story.events:
            job = apply_event(job, event)
        assert job is not None and job.version == replay(story.events).version
        assert job_summary(job) == story.summary

    def test_an_event_applied_twice_is_refused(self) -> None:
        story = Story().running()
        job = replay(story.events)
        with pytest.raises(VersionsSkipped):
            apply_event(job, story.events[-1])

    def test_a_batch_event_is_not_folded_into_a_job(self) -> None:
        batch = RegistrationBatch.open("org-1", "B", [], "user:u-1")
        with pytest.raises(TypeError):
            apply_event(None, batch.collect_events()[0])

    def test_no_events_is_no_job(self) -> None:
        with pytest.raises(ValueError):
            replay([])


class TestSecrets:
    def test_public_masks_exactly_what_the_domains_redact_masks(self) -> None:
        value = {
            "account": {"password": "pw", "email": "a@b"},
            "items": [{"api_key": "k", "n": 1}, {"pin": ""}],
            "Service-Key": "s",
            "token": None,
        }
        assert public(value) == redact(value)
