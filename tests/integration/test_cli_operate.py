"""The CLI as an operator tool: listing, repair by id prefix, a closed pipe ending quietly."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from api.cli.ids import resolve
from api.schemas.batches import JobStatusFilter
from domain.exceptions import InvalidInput, NotFound
from domain.plan import PLAN
from infrastructure.executors.simulator.faults import FaultRule, SimulatorConfig
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import running_engine, simulator
from tests.conftest import TEST_SECRET, unique_org
from tests.integration.audit_kit import Cli, Run, cli
from tests.kit import restaurant, restaurants

__all__ = ["cli"]
ACTOR = f"cli:{getpass.getuser()}"


def doc(run: Run) -> Any:
    assert run.code == 0, run.err
    return json.loads(run.out)


async def failed_and_completed(app: Registrations, settings: Settings) -> tuple[str, list[str]]:
    """A batch of three jobs run to the end: the first fails at menuImport, two complete."""
    org = unique_org()
    batch, jobs, _ = app.create_batch(org, "user:test", "cli test", restaurants(3))
    job_ids = [str(j.id) for j in jobs]
    rule = FaultRule(kind="bad_request", endpoint="menuImport", job=job_ids[0])
    app.start_step6(org, batch.id, None, "user:test")
    async with (
        simulator(SimulatorConfig(faults=[rule])) as (_, url),
        running_engine(app, settings, url) as engine,
    ):
        engine.wake(job_ids)
        assert await engine.run_until_idle(60)
    assert [str(app.job(j).status) for j in job_ids] == ["failed", "completed", "completed"]
    return str(batch.id), job_ids


async def test_lists_and_repairs_by_prefix_through_the_use_cases(
    app: Registrations, settings: Settings, cli: Cli
) -> None:
    batch_id, (failed, done, _) = await failed_and_completed(app, settings)
    org = app.batch(batch_id).organisation_id
    assert [b["id"] for b in doc(cli("batches", "--org", org, "--json"))] == [batch_id]
    table = cli("batches", "--org", org)
    assert batch_id[:8] in table.out and "2 completed, 1 failed" in table.out
    only_failed = doc(cli("jobs", batch_id[:8], "--status", "failed", "--json"))
    assert [j["id"] for j in only_failed] == [failed]

    version = app.job(done).version
    preview = doc(cli("reset", done[:8], "menuImport", "--dry-run", "--json"))
    assert preview["dry_run"] and preview["reset"][:1] == ["menuImport"]
    assert app.job(done).version == version, "a dry run changes nothing"
    refused = cli("reset", done[:8], "menuImport")
    assert refused.code == 2 and "--reason" in refused.err, "a missing argument is a usage error"
    assert app.job(done).version == version
    reset = cli("reset", done[:10], "menuImport", "--reason", "menu re-uploaded", "--json")
    assert reset.code == 0 and app.job(done).sub_steps["menuImport"].status == "pending"
    marked = cli("mark", done, "menuImport", "skipped", "--reason", "no menu", "--json")
    assert marked.code == 0 and app.job(done).sub_steps["menuImport"].status == "skipped"
    kinds = ("SubStepReset", "ManualStatusSet")
    edits = [e for e in app.events.get(app.job(done).id) if type(e).__name__ in kinds]
    assert [(type(e).__name__, e.actor, e.reason) for e in edits] == [
        ("SubStepReset", ACTOR, "menu re-uploaded"),
        ("ManualStatusSet", ACTOR, "no menu"),
    ]

    resumed = doc(cli("resume", "--batch", batch_id[:8], "--failed", "--json"))
    assert [r["job_id"] for r in resumed] == [failed]
    assert str(app.job(failed).status) == "in_progress"
    cancelled = cli("cancel", failed[:8], "--reason", "not needed")
    assert cancelled.code == 0 and str(app.job(failed).status) == "cancelled"
    assert doc(cli("resume", failed[:8], "--json"))[0]["resumed"]


def test_a_batch_left_pending_is_started_from_the_shell(app: Registrations, cli: Cli) -> None:
    """A `batch run` stopped between creating its batch and starting it left every job
    pending, and the shell had no way to start them (resume refuses a job never started)."""
    org = unique_org()
    batch, jobs, _ = app.create_batch(org, "user:test", "cli test", restaurants(4))
    ids = [str(j.id) for j in jobs]
    app.cancel(org, ids[3], "user:test", "not this one yet")
    assert cli("resume", ids[0][:8]).code == 1  # nothing to resume: it never started
    first = doc(cli("start", str(batch.id)[:8], "--job", ids[0][:8], "--json"))
    assert (first["started"], first["already_started"]) == ([ids[0]], [])
    rest = doc(cli("start", str(batch.id)[:8], "--json"))
    assert sorted(rest["started"]) == sorted(ids[1:3])
    assert (rest["already_started"], rest["left_cancelled"]) == ([ids[0]], [ids[3]])
    assert [str(app.job(j).status) for j in ids] == ["in_progress"] * 3 + ["cancelled"]
    named = doc(cli("start", str(batch.id), "--job", ids[3], "--json"))
    assert named["started"] == [ids[3]] and str(app.job(ids[3]).status) == "in_progress"
    [started] = [e for e in app.events.get(jobs[0].id) if type(e).__name__ == "Step6Started"]
    assert started.actor == ACTOR
    stranger = app.create_batch(org, "user:test", "other", restaurants(1))[1][0]
    refused = cli("start", str(batch.id), "--job", str(stranger.id))
    assert refused.code == 1 and "not in this batch" in refused.err


async def test_unknown_short_and_hostile_ids_are_refused_clearly(
    app: Registrations, settings: Settings, cli: Cli
) -> None:
    batch_id, job_ids = await failed_and_completed(app, settings)
    for shown, said in [
        ("1234", "first 8 characters"),
        ("zzzzzzzz", "Not a job id"),
        ("%%%%%%%%", "Not a job id"),
        ("ffffffff-ffff", "No job id starts with"),
    ]:
        run = cli("resume", shown)
        assert run.code == 1 and said in run.err and "Traceback" not in run.err
    assert cli("events", job_ids[1][:8], "--json").code == 0
    assert cli("jobs", job_ids[1][:8]).code == 1, "a job id is not a batch id"


@pytest.mark.parametrize("name", ["nope", "menuimport", "menu\nImport", "\u202eimport"])
async def test_an_edit_of_a_sub_step_the_plan_lacks_is_refused_and_audited(
    app: Registrations, settings: Settings, cli: Cli, name: str
) -> None:
    """SPEC 5: refused edits are audited, from the shell as from the API."""
    _, (failed, _, _) = await failed_and_completed(app, settings)
    before = len(list(app.events.get(app.job(failed).id)))
    marked = cli("mark", failed[:8], name, "skipped", "--reason", "by mark")
    reset = cli("reset", failed[:8], name, "--reason", "by reset")
    for run in (marked, reset):
        assert run.code == 1 and "Unknown sub-step" in run.err and "Traceback" not in run.err
    added = list(app.events.get(app.job(failed).id))[before:]
    assert [type(e).__name__ for e in added] == ["EditRefused", "EditRefused"]
    assert [e.edit["updates"][0]["sub_step"] for e in added] == [name, name]
    assert [e.edit["reason"] for e in added] == ["by mark", "by reset"]
    assert [e.actor for e in added] == [ACTOR, ACTOR]


class ManyIds:
    """Views that hold `ids`: for the prefix rules without a store."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def ids_starting_with(
        self, kind: str, prefix: str, organisation_id: str | None = None, limit: int = 2
    ) -> list[str]:
        return [i for i in self.ids if i.startswith(prefix)][:limit]


@hsettings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.uuids().map(str), min_size=1, max_size=5), st.data())
def test_a_prefix_names_exactly_one_id_or_is_refused(ids: list[str], data: st.DataObject) -> None:
    cut = st.sampled_from(ids).flatmap(lambda i: st.integers(0, 36).map(lambda n: i[:n]))
    given_text = data.draw(st.one_of(st.text(max_size=40), cut, cut.map(str.upper)))
    text = given_text.strip().lower()
    matching = [i for i in ids if i.startswith(text)]
    views = ManyIds(ids)
    try:
        found = resolve("job", given_text, lambda: views)  # type: ignore[arg-type,return-value]
    except NotFound:
        assert not matching and len(text) >= 8
        return
    except InvalidInput:
        assert len(text) < 8 or set(text) - set("0123456789abcdef-") or len(set(matching)) > 1
        return
    assert found == text if len(text) == 36 else [found] == matching


def test_an_ambiguous_prefix_names_every_candidate() -> None:
    ids = ["0123abcd-0000-4000-8000-000000000001", "0123abcd-0000-4000-8000-000000000002"]
    with pytest.raises(InvalidInput, match="ambiguous") as raised:
        resolve("job", "0123abcd", lambda: ManyIds(ids))  # type: ignore[arg-type,return-value]
    assert all(i in raised.value.message for i in ids)
    assert resolve("job", "0123abcd-0000-4000-8000-0000000000", lambda: ManyIds(ids[:1]))  # type: ignore[arg-type,return-value]


def regflow_env(settings: Settings) -> dict[str, str]:
    """The environment of a `regflow` subprocess on the test's store."""
    return os.environ | {
        "REGFLOW_DATABASE_URL": settings.database_url,
        "REGFLOW_SECRET_KEY": TEST_SECRET,
    }


REGFLOW = str(Path(sys.executable).with_name("regflow"))
CLOSED_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `yes | head -1`


@pytest.mark.parametrize(
    "command",
    [
        ["events", "JOB", "--json"],
        ["jobs", "BATCH"],
        ["state", "JOB"],
        ["verify-log"],
        ["check-db"],
        ["batches", "--all", "--json"],
        ["version"],
    ],
    ids=" ".join,
)
def test_a_closed_pipe_ends_quietly(
    settings: Settings, app: Registrations, tmp_path: Path, command: list[str]
) -> None:
    """One code whatever the command: not its own 1 (not found, tampered with) by mistake."""
    batch, jobs, _ = app.create_batch(unique_org(), "user:test", "pipe", restaurants(1))
    named = {"JOB": str(jobs[0].id), "BATCH": str(batch.id)[:8]}
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "wb") as closed:
        done = subprocess.run(
            [REGFLOW, *(named.get(part, part) for part in command)],
            stdout=closed,
            stderr=subprocess.PIPE,
            env=regflow_env(settings),
            cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == CLOSED_PIPE, done.stderr.decode()[-2000:]
    assert done.stderr == b"", "the reader went away: nothing to say about it"


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["PYTHONUNBUFFERED", "buffered"])
def test_a_pipe_closed_part_way_through_a_long_output_ends_quietly(
    settings: Settings, app: Registrations, tmp_path: Path, unbuffered: str
) -> None:
    """Unbuffered, Python drops what a closed pipe did not take without a word: still 141."""
    long_names = [restaurant(f"R{i} " + "x" * 150, f"r-{i}") for i in range(800)]
    batch, _, _ = app.create_batch(unique_org(), "user:test", "pipe", long_names)
    listing = f"{REGFLOW} jobs {batch.id}"
    pipe_buffer = 64 * 1024
    whole = subprocess.run(
        ["bash", "-c", f"{listing} | wc -c"],
        env=regflow_env(settings),
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert int(whole.stdout) > 2 * pipe_buffer, "longer than the pipe holds"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {listing} | head -1"],
        env=regflow_env(settings) | {"PYTHONUNBUFFERED": unbuffered},
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == CLOSED_PIPE
    assert done.stdout.decode() == f"800 jobs of batch {batch.id}\n"
    assert done.stderr == b"", done.stderr.decode()[-2000:]


async def test_a_mark_says_to_resume_only_a_job_a_resume_would_run(
    app: Registrations, settings: Settings, cli: Cli
) -> None:
    """A completed job marked again stays completed: `resume it to run` was followed by a
    resume saying there is nothing to resume."""
    _, (failed, done, _) = await failed_and_completed(app, settings)
    marked = cli("mark", done, "itemTags", "skipped", "--reason", "no tags")
    assert marked.code == 0 and marked.out.splitlines()[-1] == "job is completed"
    mended = cli("mark", failed, "menuImport", "skipped", "--reason", "no menu")
    assert mended.code == 0 and mended.out.splitlines()[-1].endswith("resume it to run")
    assert cli("resume", failed).code == 0


async def test_jobs_filters_by_every_status_the_api_filters_by(
    app: Registrations, settings: Settings, cli: Cli
) -> None:
    """`--status blocked` was refused as an invalid choice, though the API takes it."""
    batch_id, job_ids = await failed_and_completed(app, settings)
    failed = job_ids[0]
    blocked = doc(cli("jobs", batch_id[:8], "--status", "blocked", "--json"))
    assert [j["id"] for j in blocked] == [failed]
    listed = {
        status: {j["id"] for j in doc(cli("jobs", batch_id, "--status", status, "--json"))}
        for status in get_args(JobStatusFilter)
        if status != "blocked"
    }
    assert listed == {
        status: {j for j in job_ids if str(app.job(j).status) == status} for status in listed
    }


async def test_a_reset_names_as_its_dependents_only_the_others_it_resets(
    app: Registrations, settings: Settings, cli: Cli
) -> None:
    """`reset ... itemTags --dry-run` said "with its dependents: itemTags"."""
    _, (_, done, _) = await failed_and_completed(app, settings)
    for key in PLAN.keys:
        shown = cli("reset", done, key, "--reason", "check", "--dry-run")
        assert shown.code == 0, shown.err
        said = [line for line in shown.out.splitlines() if "with its dependents" in line]
        others = doc(cli("reset", done, key, "--reason", "check", "--dry-run", "--json"))["reset"]
        others = [k for k in others if k != key]
        assert said == ([f"  with its dependents: {', '.join(others)}"] if others else []), key


@pytest.mark.parametrize("command", [("events",), ("state",), ("resume",), ("cancel",)])
def test_an_id_quoted_back_masks_a_value_given_to_a_secret_s_name(
    cli: Cli, command: tuple[str, ...]
) -> None:
    run = cli(*command, "password=Leak12345")
    assert run.code != 0 and "Leak12345" not in run.err + run.out, run.err
