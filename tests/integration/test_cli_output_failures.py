"""Output the CLI cannot write (a full disk, a device that takes no writes): every command says
so in one `error:` line naming the output and exits 2, never a traceback, never its own code
(1: not found, tampered, drift) and never the interpreter's 120 from a failing last flush."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from api.cli import build_parser, main
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import TEST_SECRET, unique_org
from tests.integration.audit_kit import RESTAURANT, Cli, cli
from tests.kit import restaurant

__all__ = ["cli"]
COULD_NOT_RUN = 2
FULL = "/dev/full"
NO_SPACE = "error: cannot write standard output: No space left on device"
REGFLOW = str(Path(sys.executable).with_name("regflow"))
SERVERS = {"serve", "simulator"}  # they print only once listening, and then run until stopped
EVERY_COMMAND = {
    "batch run": ["batch", "run", "batch.json", "--json", "--timeout", "120"],
    "batches": ["batches", "--all", "--json"],
    "cancel": ["cancel", "LIVE", "--json"],
    "check-db": ["check-db", "--json"],
    "erase-organisation": ["erase-organisation", "ORG", "--json"],
    "events": ["events", "JOB", "--json"],
    "export": ["export"],
    "import-legacy": ["import-legacy", "legacy.json", "--json"],
    "jobs": ["jobs", "BATCH", "--json"],
    "mark": ["mark", "JOB", "menuImport", "failed", "--reason", "r", "--dry-run", "--json"],
    "rebuild-projections": ["rebuild-projections", "--json"],
    "replay": ["replay", "--verify"],
    "reset": ["reset", "JOB", "menuImport", "--reason", "r", "--dry-run", "--json"],
    "resume": ["resume", "JOB", "--json"],
    "rotate-keys": ["rotate-keys", "--json"],
    "start": ["start", "BATCH", "--json"],
    "state": ["state", "JOB", "--json"],
    "verify-log": ["verify-log"],
    "version": ["version"],
    "work": ["work", "--until-idle", "--timeout", "60", "--json"],
}


def leaf_commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    """Every command the parser runs, a group's actions by their full name (`batch run`)."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return {prefix}
    return {
        leaf
        for group in groups
        for name, sub in group.choices.items()
        for leaf in leaf_commands(sub, f"{prefix} {name}".strip())
    }


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: what is under test is where the command writes, not the store."""
    return sqlite_url


@pytest.fixture
def named(cli: Cli, app: Registrations, tmp_path: Path) -> dict[str, str]:
    """Of an organisation of its own: a batch of a job cancelled with a sub-step marked (JOB)
    and one running (LIVE); and the files commands read."""
    org = unique_org()
    two = [restaurant("Buzz", "r-1"), restaurant("Fizz", "r-2")]
    batch, jobs, _ = app.create_batch(org, "user:u-1", "full", two)
    app.start_step6(None, batch.id, None, "user:u-1")
    job_id, live_id = str(jobs[0].id), str(jobs[1].id)
    app.cancel(None, job_id, "user:u-1", "stopped for the test")
    assert cli("mark", job_id, "menuImport", "skipped", "--reason", "set up").code == 0
    (tmp_path / "batch.json").write_text(json.dumps([RESTAURANT]))
    (tmp_path / "legacy.json").write_text("[{}]")  # an invalid entry: its own exit code is 1
    return {"JOB": job_id, "LIVE": live_id, "BATCH": str(batch.id), "ORG": org}


@contextmanager
def full_stdout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Standard output on /dev/full, where every write fails with ENOSPC (in the test's body:
    the capture of output a test is called with would replace it)."""
    with open(FULL, "w", encoding="utf-8") as full, monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", full)
        yield


def on_full_stdout(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """`regflow ARGV` with standard output on /dev/full: its exit code and standard error."""
    capsys.readouterr()
    with full_stdout(monkeypatch):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_every_command_but_the_servers_is_in_the_table() -> None:
    assert leaf_commands(build_parser()) - SERVERS == set(EVERY_COMMAND)


@pytest.mark.parametrize("command", sorted(EVERY_COMMAND))
def test_every_command_on_a_full_disk_says_so_in_one_line_and_exits_2(
    command: str,
    named: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [named.get(part, part) for part in EVERY_COMMAND[command]]
    code, err = on_full_stdout(argv, monkeypatch, capsys)
    assert "Traceback" not in err, err
    assert code == COULD_NOT_RUN, err
    assert err.splitlines()[-1] == NO_SPACE, err


@pytest.mark.parametrize("argv", [["--help"], ["batches", "--help"], ["batch", "run", "--help"]])
def test_help_on_a_full_disk_exits_2(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = on_full_stdout(argv, monkeypatch, capsys)
    assert (code, err.splitlines()) == (COULD_NOT_RUN, [NO_SPACE])


class TestExportToAFileItCannotWrite:
    @pytest.mark.parametrize("output", [FULL, "/proc/version"])
    def test_is_named_in_one_line(
        self, cli: Cli, named: dict[str, str], output: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        run = cli("export", "--org", named["ORG"], "--output", output)
        assert run.code == COULD_NOT_RUN and "Traceback" not in run.err, run.err
        [line] = run.err.splitlines()
        assert line.startswith("error: ") and output in line, line
        assert run.out == ""

    def test_a_full_device_says_why(self, cli: Cli, named: dict[str, str]) -> None:
        run = cli("export", "--org", named["ORG"], "--output", FULL)
        assert run.err == f"error: cannot write {FULL}: No space left on device\n"


def regflow_env(settings: Settings, unbuffered: str) -> dict[str, str]:
    return os.environ | {
        "REGFLOW_DATABASE_URL": settings.database_url,
        "REGFLOW_SECRET_KEY": TEST_SECRET,
        "PYTHONUNBUFFERED": unbuffered,
    }


@pytest.mark.parametrize("unbuffered", ["1", ""], ids=["PYTHONUNBUFFERED", "buffered"])
@pytest.mark.parametrize(
    "command",
    [["version"], ["events", "JOB", "--json"], ["verify-log"], ["batches", "--all"], ["--help"]],
    ids=" ".join,
)
def test_a_process_on_a_full_disk_ends_with_one_line_and_no_failing_last_flush(
    settings: Settings,
    named: dict[str, str],
    tmp_path: Path,
    command: list[str],
    unbuffered: str,
) -> None:
    with open(FULL, "wb") as full:
        done = subprocess.run(
            [REGFLOW, *(named.get(part, part) for part in command)],
            stdout=full,
            stderr=subprocess.PIPE,
            env=regflow_env(settings, unbuffered),
            cwd=tmp_path,
            timeout=60,
            text=True,
        )
    assert (done.returncode, done.stderr) == (COULD_NOT_RUN, NO_SPACE + "\n")


def test_standard_error_on_a_full_disk_ends_with_2_not_a_traceback_exit(
    settings: Settings, named: dict[str, str], tmp_path: Path
) -> None:
    """A refusal it cannot say is still a command that could not run, not a crash (1)."""
    with open(FULL, "wb") as full:
        done = subprocess.run(
            [REGFLOW, "events", "00000000-0000-4000-8000-000000000000"],
            stdout=subprocess.PIPE,
            stderr=full,
            env=regflow_env(settings, ""),
            cwd=tmp_path,
            timeout=60,
        )
    assert (done.returncode, done.stdout) == (COULD_NOT_RUN, b"")


CLOSED = "error: cannot write standard output: it is closed"


@pytest.mark.parametrize("command", sorted(EVERY_COMMAND))
def test_every_command_started_without_standard_output_says_so_and_exits_2(
    command: str,
    named: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`regflow ... >&-`: Python starts with no sys.stdout at all; a command writing to it
    exits 2 in one line, not with an AttributeError on None."""
    argv = [named.get(part, part) for part in EVERY_COMMAND[command]]
    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stdout", None)
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert (code, err.splitlines()[-1]) == (COULD_NOT_RUN, CLOSED), err


def test_a_closed_standard_output_in_a_process_of_its_own(named: dict[str, str]) -> None:
    env = os.environ | {"REGFLOW_SECRET_KEY": TEST_SECRET}
    for argv in (["version"], ["batches", "--all"]):
        done = subprocess.run(
            [REGFLOW, *argv], stdout=subprocess.DEVNULL, capture_output=False, check=False,
            stderr=subprocess.PIPE, text=True, env=env, pass_fds=(),
        )  # fmt: skip
        assert done.returncode in (0, COULD_NOT_RUN), done.stderr
    closed = subprocess.run(
        f"exec {REGFLOW} version >&-", shell=True, capture_output=False, check=False,
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert "Traceback" not in closed.stderr, closed.stderr
    assert (closed.returncode, closed.stderr.strip()) == (COULD_NOT_RUN, CLOSED)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_that_cannot_show_a_name_gets_it_escaped(
    cli: Cli, app: Registrations, settings: Settings, encoding: str
) -> None:
    """A name no character of the output's encoding can show (a latin-1 or ASCII terminal) is
    written with backslash escapes, in every table: no UnicodeEncodeError."""
    org = unique_org()
    name = "Caf\xe9 \u6771\u4eac \U0001f35c"
    batch, _, _ = app.create_batch(org, "user:u-1", name, [restaurant(name, "r-1")])
    env = os.environ | {
        "REGFLOW_DATABASE_URL": settings.database_url,
        "REGFLOW_SECRET_KEY": "test-passphrase",
        "PYTHONIOENCODING": encoding,
        "COLUMNS": "200",
    }
    for argv in (["batches", "--org", org], ["jobs", str(batch.id)]):
        done = subprocess.run([REGFLOW, *argv], capture_output=True, check=False, env=env)
        err = done.stderr.decode(encoding, "replace")
        assert "Traceback" not in err and done.returncode == 0, err
        shown = done.stdout.decode(encoding)
        assert "\\u6771\\u4eac" in shown and "\\U0001f35c" in shown, shown


def test_a_settings_file_that_is_not_utf8_is_named_in_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"REGFLOW_LOG_FORMAT=text\n\xff\xfe\x00x\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGFLOW_")}
    for argv in (["batches"], ["serve", "--port", "18198"]):
        done = subprocess.run(
            [REGFLOW, *argv], capture_output=True, text=True, check=False, env=env,
            cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == COULD_NOT_RUN, (argv, done.stderr)
        assert done.stderr.strip() == (
            f"error: cannot read the settings file {tmp_path / '.env'}: byte 24 is not UTF-8 "
            "text (settings files are read as UTF-8)"
        ), done.stderr


@pytest.mark.parametrize("stderr", ["closed", "full"])
def test_a_command_that_did_its_work_without_standard_error_answers_and_exits_0(
    settings: Settings, tmp_path: Path, stderr: str
) -> None:
    """`regflow batch run FILE --json > out 2>&-`: its progress lines could not be written;
    it stopped at the first, exit 2 ("could not run"), with the batch made and started and
    no answer. Standard error's lost writes are dropped; the answer says what was done."""
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps({"name": "no stderr", "restaurants": [{"name": "Quiet"}]}))
    redirect = "2>&-" if stderr == "closed" else f"2>{FULL}"
    done = subprocess.run(
        f"exec {REGFLOW} batch run {batch} --json {redirect}", shell=True, stdout=subprocess.PIPE,
        env=regflow_env(settings, ""), cwd=tmp_path, timeout=120, check=False, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    answer = json.loads(done.stdout)
    assert answer["finished"] and answer["jobs"] == {"completed": 1}
