"""Reading the old system's export: statuses, inferred or stored context, clear per-entry errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.exceptions import InvalidInput
from infrastructure.legacy import (
    INTERRUPTED_ERROR,
    export_entries,
    parse_job,
    read_export,
    reconstruct_context,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "legacy"


def fixture(name: str) -> list[Any]:
    return export_entries(json.loads((FIXTURES / name).read_text()))


def errors_of(entry: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_job(entry)
    return caught.value.errors


class TestExportShape:
    def test_list_and_jobs_object_are_both_read(self) -> None:
        assert len(fixture("buzz.json")) == 1 and len(fixture("no_context.json")) == 2

    def test_other_documents_are_refused(self) -> None:
        with pytest.raises(InvalidInput):
            export_entries({"job": []})


class TestBuzz:
    def test_statuses_are_taken_over(self) -> None:
        job = parse_job(fixture("buzz.json")[0])
        statuses = {k: v["status"] for k, v in job.sub_steps.items()}
        assert statuses["menuImport"] == "failed"
        assert [k for k, s in statuses.items() if s != "completed"] == [
            "menuImport",
            "optionSets",
            "itemTags",
        ]

    def test_cloudflare_error_page_is_cleaned(self) -> None:
        job = parse_job(fixture("buzz.json")[0])
        assert job.sub_steps["menuImport"]["error"].startswith("Cloudflare: ")

    def test_stored_context_is_preferred(self) -> None:
        job = parse_job(fixture("buzz.json")[0])
        assert job.context_source == "stored"
        assert job.context["codeInjectionId"] == "5b0c7d52-93a1-4f3e-8d0e-1c2b3a4d5e6f"
        assert job.context["onboardingUserCreated"] is True

    def test_restaurant_carries_its_execution_config(self) -> None:
        job = parse_job(fixture("buzz.json")[0])
        assert job.restaurant["name"] == "Buzz" and job.restaurant["execution_config"]["menu"]


class TestInferredContext:
    def test_inferred_from_statuses_as_reconstruct_context_does(self) -> None:
        job = parse_job(fixture("no_context.json")[0])
        assert job.context_source == "inferred"
        assert job.context == {
            "codeGenerationFilePaths": {
                "headInjection": "/generated/kiwi/head.html",
                "bodyInjection": "/generated/kiwi/body.html",
            },
            "onboardingUserCreated": True,
            "menuImportSucceeded": True,
        }

    def test_completed_code_generation_without_paths_infers_true(self) -> None:
        progress = {
            "phases": {"phase1": {"sub_steps": {"codeGeneration": {"status": "completed"}}}}
        }
        context, _ = reconstruct_context(progress)
        assert context["codeGenerationFilePaths"] is True
        assert context["onboardingUserCreated"] is False and not context["menuImportSucceeded"]

    def test_progress_under_steps_is_found(self) -> None:
        job = parse_job(fixture("no_context.json")[1])
        assert job.sub_steps["cloudwaitressAccount"]["status"] == "failed"
        assert "restaurantRegistration" not in job.sub_steps


class TestInterrupted:
    def test_in_progress_is_imported_as_failed_with_a_warning(self) -> None:
        job = parse_job(fixture("no_context.json")[0])
        assert job.sub_steps["optionSets"] == {
            "status": "failed",
            "attempts": 0,
            "result": {},
            "error": INTERRUPTED_ERROR,
        }
        assert any("optionSets was in_progress" in w for w in job.warnings)


class TestInvalidEntries:
    def test_every_problem_of_an_entry_is_listed(self) -> None:
        errors = errors_of(fixture("invalid.json")[2])
        assert errors == [
            "cloudwaitressAccount: unknown status 'done'",
            "menuImport belongs to phase2, found under phase1",
            "unknown sub-step teleport in phase1",
        ]

    def test_missing_id_and_progress_are_named(self) -> None:
        entries = fixture("invalid.json")
        assert errors_of(entries[1]) == ["The job has no id"]
        assert errors_of(entries[3]) == ["No Step 6 sub_step_progress with phases to import"]

    def test_non_uuid_ids_get_a_stable_derived_id(self) -> None:
        entry = {**fixture("buzz.json")[0], "id": "legacy-42"}
        first, second = parse_job(entry), parse_job(entry)
        assert first.job_id == second.job_id and isinstance(first.job_id, UUID)
        assert "legacy-42" in first.warnings[0]

    def test_negative_attempts_are_refused(self) -> None:
        entry = json.loads(json.dumps(fixture("buzz.json")[0]))
        entry["sub_step_progress"]["phases"]["phase3"]["sub_steps"]["optionSets"]["attempts"] = -1
        assert errors_of(entry) == ["optionSets: attempts must be a whole number >= 0"]


@pytest.mark.parametrize("digits", [4301, 10_000])
def test_a_number_too_long_to_read_is_said_so_in_the_products_words(digits: int) -> None:
    """It said "use sys.set_int_max_str_digits() to increase the limit": Python's advice, of
    no use to an operator importing a file."""
    with pytest.raises(InvalidInput) as refusal:
        read_export(f'[{{"id": "j", "attempts": {"9" * digits}}}]')
    assert refusal.value.message == "holds a number of more than 4300 digits: it cannot be read"
