"""The CLI in a pipe and in a terminal: nothing cut or wrapped, stored text never interpreted."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from api.cli import build_parser
from api.cli.audit_replay import print_differences
from api.cli.output import SHORT_ID, cells, console, escape_text
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.offline.diff import Difference
from tests.conftest import unique_org
from tests.integration.audit_kit import RESTAURANT, Cli, RawLog, cli, new_job, restoring

__all__ = ["cli"]
HOSTILE = [
    "\x1b[2J\x1b[H",  # clear the screen, cursor home
    "\x1b]0;pwned\x07",  # set the window title
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 link
    "ok\rFORGED",  # carriage return over the line
    "x\n│ 99 │ forged row │",  # a forged table line
    "[link=https://evil.example]click[/link]",
    "[bold red]alarm[/]",
    "\u202etxt.exe",  # right-to-left override
    "\x9b31m",  # 8-bit CSI
]
SGR = re.compile(r"\x1b\[[0-9;]*m")
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from(HOSTILE) | st.text(max_size=8), min_size=1, max_size=5).map("".join),
)


def rendered(text: str, terminal: bool) -> str:
    buffer = io.StringIO()
    out = (
        Console(file=buffer, force_terminal=True, color_system="truecolor", width=120)
        if terminal
        else console(file=buffer)
    )
    table = Table("actor", "reason")
    table.add_row(*cells("user:u-1", text))
    out.print(table)
    out.print(f"[bold]reason[/bold]: {escape_text(text)}")
    return buffer.getvalue()


@given(hostile_text)
def test_a_pipe_gets_no_control_character_at_all(text: str) -> None:
    output = rendered(text, terminal=False)
    assert all(c == "\n" or c.isprintable() for c in output), repr(output)
    assert "[link=" not in text or "[link=" in output
    assert len(output.splitlines()) == 6


@given(hostile_text)
def test_a_terminal_gets_only_the_consoles_own_colours(text: str) -> None:
    output = SGR.sub("", rendered(text, terminal=True))
    assert all(c == "\n" or c.isprintable() for c in output), repr(output)
    assert "\x1b]" not in output and "evil.example\x1b" not in output


def test_escapes_are_visible_and_markup_shown_as_typed() -> None:
    shown = rendered("a\x1b]0;t\x07[link=https://e.example]b[/link]\r", terminal=False)
    assert "a\\x1b]0;t\\x07[link=https://e.example]b[/link]\\r" in shown


@pytest.fixture
def raw(settings: Settings, app: Registrations) -> RawLog:
    return RawLog(settings, app)


class TestPipedCommands:
    def test_events_in_a_pipe_show_hostile_reasons_escaped_and_data_uncut(
        self, cli: Cli, app: Registrations, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COLUMNS", "40")
        batch_id, job_id = new_job(app, unique_org())
        app.start_step6(None, batch_id, None, "user:u-1")
        app.cancel(None, job_id, "user:\x1b]0;title\x07", "[link=https://e.example]x[/link]\r\n")
        run = cli("events", job_id)
        assert run.code == 0
        assert all(c == "\n" or c.isprintable() for c in run.out)
        assert (
            "\\x1b]0;title\\x07" in run.out and "[link=https://e.example]x[/link]\\r\\n" in run.out
        )
        assert "…" not in run.out and "execution_config" in run.out

    def test_verify_log_piped_to_grep_finds_the_aggregate(
        self, cli: Cli, app: Registrations, raw: RawLog, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COLUMNS", "40")
        batch_id, job_id = new_job(app, unique_org())
        app.start_step6(None, batch_id, None, "user:u-1")
        with restoring(raw, job_id):
            raw.delete(job_id, 2)
            run = cli("verify-log")
        found = [line for line in run.out.splitlines() if job_id in line]
        assert run.code == 1 and found and "deleted" in found[0]

    def test_state_says_what_a_resume_would_do(self, cli: Cli, app: Registrations) -> None:
        batch_id, job_id = new_job(app, unique_org())
        app.start_step6(None, batch_id, None, "user:u-1")
        app.cancel(None, job_id, "user:u-1", None)
        version = app.job(job_id).version
        run = cli("state", job_id, "--version", str(version))
        plan, _, _ = app.resume(None, job_id, "user:u-1", dry_run=True)
        assert f"last complete phase none, resumes in {plan.phase}" in run.out
        record = cli("state", job_id, "--version", str(version), "--json").lines()[0]
        assert record["resume"] == plan.as_answer()

    def test_state_of_a_job_cancelled_before_its_start_says_the_resume_starts_it(
        self, cli: Cli, app: Registrations
    ) -> None:
        """A resume starts such a job: `state` shows what it runs, as the resume's dry run
        answers, not `Step 6 never started`."""
        _, job_id = new_job(app, unique_org())
        app.cancel(None, job_id, "user:u-1", "not yet")
        plan, _, _ = app.resume(None, job_id, "user:u-1", dry_run=True)
        record = cli("state", job_id, "--json").lines()[0]
        assert record["resume"] == plan.as_answer() and plan.sub_steps, record
        assert f"resumes in {plan.phase}" in cli("state", job_id).out


@pytest.mark.parametrize(
    "command",
    [
        ["events", "JOB"],
        ["state", "JOB", "--version", "1"],
        ["verify-log"],
        ["replay", "--verify"],
        ["rebuild-projections"],
        ["export"],
        ["import-legacy", "FILE"],
        ["check-db"],
    ],
)
def test_every_audit_command_has_json(command: list[str]) -> None:
    parsed = build_parser().parse_args([*command, "--json"])
    assert parsed.json is True


def test_an_error_naming_what_was_typed_is_escaped(cli: Cli) -> None:
    run = cli("events", "\x1b]0;title\x07not-a-job")
    assert run.code == 1
    assert "\x1b" not in run.err and "\\x1b]0;title\\x07not-a-job" in run.err


@pytest.mark.parametrize("columns", [20, 30, 40, 45, 60, 120])
def test_a_narrow_terminal_shows_ids_as_commands_take_them(
    cli: Cli, app: Registrations, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """However narrow the terminal, the batches' and jobs' tables show each id's first
    `SHORT_ID` characters whole, and a command takes that prefix back."""
    org = unique_org()
    batch, created, _ = app.create_batch(
        org, "user:u-1", "a batch whose name wraps " * 3, [RESTAURANT]
    )
    batch_id, job_id = str(batch.id), str(created[0].id)
    monkeypatch.setattr("api.cli.output.is_terminal", lambda stream=None: True)
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", str(columns))
    batches = SGR.sub("", cli("batches", "--org", org).out)
    assert batch_id[:SHORT_ID] in batches and batch_id not in batches, batches
    jobs = SGR.sub("", cli("jobs", batch_id[:SHORT_ID]).out)
    assert job_id[:SHORT_ID] in jobs, jobs
    monkeypatch.setenv("COLUMNS", "200")
    assert cli("state", job_id[:SHORT_ID], "--json").lines()[0]["job_id"] == job_id


def test_replay_shows_a_drifted_value_escaped_once(capsys: pytest.CaptureFixture[str]) -> None:
    """As every table shows stored text: a real ESC as \\x1b, a typed backslash as \\\\ (the
    value's repr, escaped again, showed them as \\\\x1b and \\\\\\\\)."""
    live, rebuilt = "X\x1bY", "X\\x1bY"
    print_differences([Difference("job_progress", "j-1", "name", live, rebuilt)], None)
    shown = capsys.readouterr().out
    assert "'X\\x1bY'" in shown and "'X\\\\x1bY'" in shown, shown
    assert "\\\\\\\\" not in shown and "'X\\\\\\\\x1bY'" not in shown, shown
    print_differences([Difference("job_progress", "j-1", "attempts", 3, None)], None)
    shown = capsys.readouterr().out
    assert "3" in shown and "None" in shown
