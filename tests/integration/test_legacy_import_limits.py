"""`regflow import-legacy` refuses what it must not take in, recording nothing for it: a stored
context value of the wrong type or progress that breaks the plan's dependencies (the entry
invalid), and a file it must not read whole (past the size limit, or no regular file: exit 2).
An interrupted sub-step's warning says what the resume plan does with it."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli
from tests.integration.test_legacy_bad_rows import CODE, PHASES, changed, good_row, has_events

__all__ = ["cli"]

CONTEXT = ("sub_step_progress", "context")
FLAGS = ("onboardingUserCreated", "menuImportSucceeded")
TEXTS = ("codeInjectionId", "codeInjectionGeneratedAt")
OTHER = (
    st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(st.text(max_size=2), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.booleans(), max_size=2)
)
NOT_A_FLAG = st.sampled_from(["false", "no", "0", "", "yes"]) | st.text(max_size=5) | OTHER
NOT_A_TEXT = st.booleans() | OTHER


def write(tmp_path: Path, rows: list[Any]) -> Path:
    path = tmp_path / f"export-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps({"jobs": rows}))
    return path


def events_stored(app: Registrations) -> int:
    return int(app.recorder.max_notification_id() or 0)


@st.composite
def wrong_context_values(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(FLAGS + TEXTS))
    return name, draw(NOT_A_FLAG if name in FLAGS else NOT_A_TEXT)


class TestWrongTypedContext:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(wrong=wrong_context_values())
    def test_the_entry_is_invalid_naming_the_field_and_no_event_is_recorded(
        self, cli: Cli, app: Registrations, tmp_path: Path, wrong: tuple[str, Any]
    ) -> None:
        name, value = wrong
        row = changed(good_row(unique_org()), (*CONTEXT, name), value)
        before = events_stored(app)
        run = cli("import-legacy", str(write(tmp_path, [row])), "--json")
        [outcome] = run.lines()
        assert (run.code, outcome["outcome"], outcome["legacy_id"]) == (1, "invalid", row["id"])
        assert outcome["errors"][0].startswith(f"sub_step_progress.context.{name}: must be")
        assert events_stored(app) == before and not has_events(app, row["id"])


class TestDependencies:
    def test_progress_breaking_the_plans_dependencies_is_refused_naming_them(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        row = changed(good_row(unique_org()), (*CODE, "status"), "failed")
        where = (*PHASES, "phase2", "sub_steps", "restaurantRegistration", "status")
        row = changed(row, where, "pending")
        before = events_stored(app)
        run = cli("import-legacy", str(write(tmp_path, [row])), "--json")
        [outcome] = run.lines()
        assert (run.code, outcome["outcome"]) == (1, "invalid")
        assert outcome["errors"][:2] == [
            "Cannot import websiteConfig as completed: codeGeneration is failed",
            "Cannot import websiteConfig as completed: restaurantRegistration is pending",
        ]
        assert events_stored(app) == before


class TestInterruptedWarning:
    @pytest.mark.parametrize(
        ("config", "fate"),
        [
            ({"payment": {"enabled": True}}, "resume re-runs it"),
            ({}, "resume skips it: no payment set-up in execution_config"),
        ],
        ids=["payment set up", "no payment"],
    )
    def test_the_warning_says_what_the_resume_plan_does(
        self, cli: Cli, tmp_path: Path, config: dict[str, Any], fate: str
    ) -> None:
        row = good_row(unique_org())
        del row["execution_config"]["payment"]
        row["execution_config"].update(config)
        row = changed(row, (*PHASES, "phase2", "sub_steps", "paymentConfig", "status"), "running")
        run = cli("import-legacy", str(write(tmp_path, [row])), "--json")
        [outcome] = run.lines()
        assert outcome["outcome"] == "imported", outcome
        warning = "paymentConfig was running in the old system: imported as failed, " + fate
        assert outcome["warnings"] == [warning]
        assert ("paymentConfig" in outcome["resume_plan"]["sub_steps"]) == bool(config)


class TestFilesItMustNotReadWhole:
    def test_a_file_past_the_limit_is_exit_2_naming_the_limit(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        path = tmp_path / "huge.json"
        with path.open("wb") as file:
            file.truncate(32 * 1024 * 1024 + 1)  # sparse: takes no room
        before = events_stored(app)
        run = cli("import-legacy", str(path), "--json")
        assert (run.code, run.out) == (2, "")
        assert run.err.startswith(f"error: cannot read {path}: larger than the limit of 33,554,432")
        assert "REGFLOW_MAX_BATCH_BYTES" in run.err and events_stored(app) == before

    def test_the_limit_is_the_batch_uploads_setting(
        self, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write(tmp_path, [good_row(unique_org())])
        monkeypatch.setenv("REGFLOW_MAX_BATCH_BYTES", str(1024))
        run = cli("import-legacy", str(path))
        assert run.code == 2 and "larger than the limit of 1,024 bytes" in run.err

    @pytest.mark.parametrize("kind", ["/dev/zero", "a FIFO", "a directory"])
    def test_what_is_not_a_regular_file_is_exit_2_at_once(
        self, cli: Cli, app: Registrations, tmp_path: Path, kind: str
    ) -> None:
        path = {"/dev/zero": Path("/dev/zero"), "a FIFO": tmp_path / "fifo"}.get(kind, tmp_path)
        if kind == "a FIFO":
            os.mkfifo(path)  # no writer: opening it to read would wait for one
        before = events_stored(app)
        run = cli("import-legacy", str(path), "--json")
        assert (run.code, run.out) == (2, "")
        assert run.err.startswith(f"error: cannot read {path}: not a regular file")
        assert events_stored(app) == before
