"""`regflow import-legacy` on SQLite and PostgreSQL: stuck jobs become resumable, never twice."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from domain.job import RegistrationJob
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli

__all__ = ["cli"]

MENU_CHAIN = ["menuImport", "optionSets", "itemTags"]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "legacy"


def fresh_copy(name: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """The fixture with new job ids, so tests sharing a database never collide."""
    document: Any = json.loads((FIXTURES / name).read_text())
    entries = document["jobs"] if isinstance(document, dict) else document
    ids = []
    for entry in entries:
        if isinstance(entry, dict) and "id" in entry:
            entry["id"] = str(uuid.uuid4())
        ids.append(entry.get("id") if isinstance(entry, dict) else None)
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path, ids


def imported_buzz(cli: Cli, tmp_path: Path) -> tuple[Path, str, str]:
    """Buzz imported into an organisation of its own: the file, the job's id, the organisation."""
    path, [job_id] = fresh_copy("buzz.json", tmp_path)
    org = unique_org()
    cli("import-legacy", str(path), "--org", org)
    return path, job_id, org


def run_to_end(app: Registrations, job_id: str) -> list[str]:
    """Play the engine's part by hand: start and complete whatever is runnable, in order."""
    ran: list[str] = []
    while runnable := app.job(job_id).runnable():
        for key in runnable:
            app.update_job(job_id, None, lambda j, k=key: j.start_sub_step(k))
            app.update_job(job_id, None, lambda j, k=key: j.complete_sub_step(k, {}))
            ran.append(key)
    app.update_job(job_id, None, lambda j: j.finish())
    return ran


class TestBuzz:
    def test_buzz_imports_failed_and_resumable_after_phase1(self, cli: Cli, tmp_path: Path) -> None:
        path, _ = fresh_copy("buzz.json", tmp_path)
        run = cli("import-legacy", str(path), "--org", unique_org(), "--json")
        [outcome] = run.lines()
        assert run.code == 0
        assert (outcome["outcome"], outcome["job_status"]) == ("imported", "failed")
        assert (outcome["resuming_from"], outcome["context_source"]) == ("phase1", "stored")
        assert outcome["resume_plan"] == {"phase": "phase2", "sub_steps": MENU_CHAIN}

    def test_resume_leaves_exactly_the_three_menu_steps(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        _, job_id, org = imported_buzz(cli, tmp_path)
        plan, _, changed = app.resume(org, job_id, "user:u-1")
        job = app.job(job_id, org)
        left = {k: s for k, s in job.statuses().items() if s != "completed"}
        assert (plan.resuming_from, plan.sub_steps, changed) == ("phase1", MENU_CHAIN, True)
        assert left == {"menuImport": "pending", "optionSets": "pending", "itemTags": "pending"}
        assert job.runnable() == ["menuImport"]

    def test_resumed_buzz_runs_only_those_and_completes(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        _, job_id, org = imported_buzz(cli, tmp_path)
        app.resume(org, job_id, "user:u-1")
        assert run_to_end(app, job_id) == ["menuImport", "optionSets", "itemTags"]
        job: RegistrationJob = app.job(job_id)
        assert job.status == "completed" and job.context["menuImportSucceeded"] is True
        assert job.context["codeInjectionId"] == "5b0c7d52-93a1-4f3e-8d0e-1c2b3a4d5e6f"


class TestContext:
    def test_missing_context_is_inferred_from_statuses(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        path, [kiwi, _] = fresh_copy("no_context.json", tmp_path)
        run = cli("import-legacy", str(path), "--org", unique_org(), "--json")
        context = app.job(kiwi).context
        assert run.code == 0 and run.lines()[0]["context_source"] == "inferred"
        assert context["codeGenerationFilePaths"] == {
            "headInjection": "/generated/kiwi/head.html",
            "bodyInjection": "/generated/kiwi/body.html",
        }
        assert context["onboardingUserCreated"] is True and context["menuImportSucceeded"] is True


class TestRefusals:
    def test_reimport_is_refused_and_changes_nothing(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        path, job_id, org = imported_buzz(cli, tmp_path)
        again = cli("import-legacy", str(path), "--org", org, "--json")
        assert again.code == 1 and again.lines()[0]["outcome"] == "refused"
        assert "already in the log" in again.lines()[0]["errors"][0]
        assert app.job(job_id).version == 2

    def test_invalid_entries_are_reported_and_recorded_nowhere(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        path, ids = fresh_copy("invalid.json", tmp_path)
        run = cli("import-legacy", str(path), "--org", unique_org(), "--json")
        outcomes = [o["outcome"] for o in run.lines()]
        assert run.code == 1
        assert outcomes == ["invalid"] * 5 + ["imported"]
        assert not app.recorder.select_events(uuid.UUID(ids[2]))
        assert not app.recorder.select_events(uuid.UUID(ids[4]))
        assert run.lines()[4]["errors"] == ["name: String should have at least 1 character"]

    def test_one_file_becomes_one_batch(self, cli: Cli, app: Registrations, tmp_path: Path) -> None:
        path, ids = fresh_copy("no_context.json", tmp_path)
        run = cli("import-legacy", str(path), "--org", unique_org(), "--batch-name", "Week 3")
        assert run.code == 0
        jobs = [app.job(job_id) for job_id in ids]
        assert len({job.batch_id for job in jobs}) == 1
        batch = app.batch(jobs[0].batch_id)
        assert (batch.name, batch.job_ids) == ("Week 3", [job.id for job in jobs])

    def test_entry_without_organisation_needs_org(self, cli: Cli, tmp_path: Path) -> None:
        path, _ = fresh_copy("buzz.json", tmp_path)
        document = json.loads(path.read_text())
        del document["jobs"][0]["organisation_id"]
        path.write_text(json.dumps(document))
        run = cli("import-legacy", str(path), "--json")
        assert run.code == 1 and "give --org" in run.lines()[0]["errors"][0]

    def test_unreadable_file_exits_2(self, cli: Cli, tmp_path: Path) -> None:
        (tmp_path / "broken.json").write_text("{not json")
        run = cli("import-legacy", str(tmp_path / "broken.json"))
        assert run.code == 2 and "cannot read" in run.err

    def test_table_lists_each_entry(self, cli: Cli, tmp_path: Path) -> None:
        path, _ = fresh_copy("invalid.json", tmp_path)
        run = cli("import-legacy", str(path), "--org", unique_org())
        assert run.code == 1
        assert "unknown sub-step teleport in phase1" in run.out and "imported" in run.out
