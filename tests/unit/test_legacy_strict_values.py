"""A legacy job's progress is read as typed, as the API reads JSON: a stored context value of
the wrong type ("false" as a flag, a list as an id) and a completed sub-step whose dependencies
are not met make the entry invalid, naming where; a value is named where the entry holds it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.exceptions import InvalidInput
from infrastructure.legacy import export_entries, parse_job, read_export

BUZZ: dict[str, Any] = export_entries(
    json.loads((Path(__file__).parent.parent / "fixtures" / "legacy" / "buzz.json").read_text())
)[0]
FLAGS = ("onboardingUserCreated", "menuImportSucceeded")
TEXTS = ("codeInjectionId", "codeInjectionGeneratedAt")
OBJECTS = st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=2)
OTHER = st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.lists(st.booleans())
NOT_A_FLAG = st.sampled_from(["false", "no", "0", "", "true", "yes"]) | st.text() | OTHER | OBJECTS
NOT_A_TEXT = st.booleans() | OTHER | OBJECTS


def with_context(**values: Any) -> dict[str, Any]:
    entry = copy.deepcopy(BUZZ)
    entry["sub_step_progress"]["context"].update(values)
    return entry


def errors_of(entry: Any) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        parse_job(entry)
    return caught.value.errors


class TestStoredContextTypes:
    @given(name=st.sampled_from(FLAGS), value=NOT_A_FLAG)
    def test_a_flag_that_is_not_a_boolean_is_refused_naming_its_path(
        self, name: str, value: Any
    ) -> None:
        [error] = errors_of(with_context(**{name: value}))
        assert error.startswith(f"sub_step_progress.context.{name}: must be a boolean")

    @given(name=st.sampled_from(TEXTS), value=NOT_A_TEXT)
    def test_an_id_or_time_that_is_not_a_string_is_refused_naming_its_path(
        self, name: str, value: Any
    ) -> None:
        [error] = errors_of(with_context(**{name: value}))
        assert error.startswith(f"sub_step_progress.context.{name}: must be")

    def test_the_string_false_is_quoted_in_the_error(self) -> None:
        assert errors_of(with_context(menuImportSucceeded="false")) == [
            "sub_step_progress.context.menuImportSucceeded: must be a boolean (true or false), "
            'not the string "false"'
        ]

    def test_a_context_under_steps_is_named_there(self) -> None:
        entry = copy.deepcopy(BUZZ)
        progress = with_context(onboardingUserCreated="no").pop("sub_step_progress")
        del entry["sub_step_progress"]
        entry["steps"] = [{"step_number": 5}, {"step_number": 6, "sub_step_progress": progress}]
        [error] = errors_of(entry)
        assert error.startswith("steps[1].sub_step_progress.context.onboardingUserCreated:")

    def test_a_context_that_is_not_an_object_is_refused(self) -> None:
        entry = copy.deepcopy(BUZZ)
        entry["sub_step_progress"]["context"] = ["menuImportSucceeded"]
        assert errors_of(entry) == ["sub_step_progress.context: must be an object, not this array"]

    @pytest.mark.parametrize(
        "paths", [True, ["a/head.html"], {"headInjection": "/h.html", "bodyInjection": "/b.html"}]
    )
    def test_the_old_systems_forms_of_file_paths_are_taken(self, paths: Any) -> None:
        job = parse_job(with_context(codeGenerationFilePaths=paths))
        assert job.context["codeGenerationFilePaths"] == paths

    def test_booleans_and_nulls_are_taken_as_stored(self) -> None:
        job = parse_job(with_context(menuImportSucceeded=None, onboardingUserCreated=False))
        assert job.context["menuImportSucceeded"] is False
        assert job.context["onboardingUserCreated"] is False


def with_statuses(**statuses: str) -> dict[str, Any]:
    entry = copy.deepcopy(BUZZ)
    for phase in entry["sub_step_progress"]["phases"].values():
        for key, item in phase["sub_steps"].items():
            item["status"] = statuses.get(key, item["status"])
    return entry


class TestDependencies:
    def test_a_completed_sub_step_whose_dependencies_are_not_met_is_refused(self) -> None:
        entry = with_statuses(codeGeneration="failed", restaurantRegistration="pending")
        errors = errors_of(entry)
        assert "Cannot import websiteConfig as completed: codeGeneration is failed" in errors
        assert (
            "Cannot import websiteConfig as completed: restaurantRegistration is pending" in errors
        )

    def test_a_dependency_the_export_does_not_list_counts_as_pending(self) -> None:
        entry = copy.deepcopy(BUZZ)
        del entry["sub_step_progress"]["phases"]["phase1"]["sub_steps"]["cloudwaitressAccount"]
        assert errors_of(entry) == [
            "Cannot import restaurantRegistration as completed: cloudwaitressAccount is pending"
        ]

    def test_skipped_dependencies_are_met(self) -> None:
        assert parse_job(with_statuses(codeGeneration="skipped")).sub_steps


class TestPaths:
    def test_a_number_that_is_not_finite_is_named_where_the_entry_holds_it(self) -> None:
        text = json.dumps([BUZZ]).replace('"enabled": true}', '"enabled": true, "x": NaN}', 1)
        [error] = errors_of(read_export(text)[0])
        assert error == "execution_config.payment.x: not a finite number"

    def test_under_the_restaurant_it_is_named_there(self) -> None:
        entry = copy.deepcopy(BUZZ)
        entry["restaurant"]["execution_config"] = entry.pop("execution_config")
        entry["restaurant"]["execution_config"]["payment"]["x"] = float("nan")
        assert errors_of(entry) == ["restaurant.execution_config.payment.x: not a finite number"]
