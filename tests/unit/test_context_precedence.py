"""A stored context wins over inference for imported jobs, until regflow completes the producer."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from domain.job import RegistrationJob
from domain.plan import PLAN
from tests.unit.jobs import FULL_CONFIG, given

DONE = {"status": "completed", "attempts": 1, "result": {}}
STORED = {
    "codeInjectionId": "ci-stored",
    "codeInjectionGeneratedAt": "2024-12-30T10:00:00Z",
    "codeGenerationFilePaths": None,
    "onboardingUserCreated": True,
    "menuImportSucceeded": False,
}


def imported(statuses: dict[str, dict[str, Any]], context: dict[str, Any]) -> RegistrationJob:
    job = RegistrationJob.register(uuid4(), "org-1", {"name": "Buzz"}, FULL_CONFIG, "system")
    job.import_legacy(statuses, context, "system")
    return given(job)


def progress(**overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: overrides.get(k, DONE) for k in PLAN.keys}


FAILED = {"status": "failed", "attempts": 1, "error": "HTTP 400"}
PENDING = {"status": "pending", "attempts": 0}


class TestStoredContextHolds:
    def test_stored_values_win_over_what_the_statuses_say(self) -> None:
        code = {"status": "completed", "attempts": 1, "result": {"codeInjectionId": "ci-result"}}
        job = imported(progress(codeGeneration=code, createOnboardingUser=FAILED), STORED)
        context = job.context
        assert context["codeInjectionId"] == "ci-stored"
        assert context["onboardingUserCreated"] is True
        assert context["menuImportSucceeded"] is False

    def test_a_stored_menu_failure_skips_the_conditionals_on_resume(self) -> None:
        job = imported(progress(optionSets=PENDING, itemTags=PENDING), STORED)
        plan = job.resume("user:u-1")
        assert plan is not None and plan.sub_steps == []
        assert [job.sub_steps[k].status for k in ("optionSets", "itemTags")] == ["skipped"] * 2

    def test_a_failure_or_reset_in_regflow_supersedes_nothing(self) -> None:
        job = imported(progress(createOnboardingUser=FAILED), STORED)
        job.edit([("createOnboardingUser", "pending", None)], "user:u-1", "run it again")
        assert job.context["onboardingUserCreated"] is True


class TestCompletionSupersedes:
    def test_a_completion_in_regflow_replaces_the_stored_value(self) -> None:
        job = imported(progress(codeGeneration=FAILED, menuImport=FAILED), STORED)
        job.resume("user:u-1")
        job.claim("worker-1")
        job.start_sub_step("codeGeneration")
        job.complete_sub_step("codeGeneration", {"codeInjectionId": "ci-new"})
        job.start_sub_step("menuImport")
        job.complete_sub_step("menuImport", {})
        assert (job.context["codeInjectionId"], job.context["menuImportSucceeded"]) == (
            "ci-new",
            True,
        )

    def test_a_manual_completion_replaces_it_too(self) -> None:
        job = imported(progress(menuImport=FAILED, optionSets=PENDING, itemTags=PENDING), STORED)
        job.edit([("menuImport", "completed", None)], "user:u-1", "imported by hand")
        assert job.context["menuImportSucceeded"] is True
        assert job.sub_steps["optionSets"].status == "pending"
