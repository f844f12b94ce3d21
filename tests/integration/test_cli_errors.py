"""The CLI refusing what it cannot use: one `error:` line and a documented exit code for a store
that cannot be opened or reached, a file that cannot be read, an argument out of range."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest
from eventsourcing import persistence as es
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from api.cli import build_parser
from infrastructure.errors import store_unusable
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, Run, cli, new_job, subcommands

__all__ = ["cli"]
COULD_NOT_RUN = 2
PASSWORD = "pa55-w0rd-never-shown"
UNREACHABLE = f"postgresql://nouser:{PASSWORD}@127.0.0.1:1/db"
STORE_COMMANDS = [
    ["batches"],
    ["check-db"],
    ["verify-log"],
    ["replay", "--verify"],
    ["export"],
    ["import-legacy", "legacy.json"],
    ["events", "12345678"],
    ["state", "12345678"],
]


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: what is under test is the command line's answer, not the store."""
    return sqlite_url


def one_error_line(run: Run) -> str:
    assert "Traceback" not in run.err, run.err
    lines = run.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    return lines[0]


def not_a_database(tmp_path: Path) -> str:
    (tmp_path / "text.db").write_text("not a database\n")
    return f"sqlite:///{tmp_path / 'text.db'}"


def a_directory(tmp_path: Path) -> str:
    (tmp_path / "folder.db").mkdir()
    return f"sqlite:///{tmp_path / 'folder.db'}"


class TestAStoreThatCannotBeUsed:
    @pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
    def test_a_file_that_is_not_a_database_is_named_in_one_line(
        self, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
    ) -> None:
        (tmp_path / "legacy.json").write_text("[]")
        monkeypatch.setenv("REGFLOW_DATABASE_URL", not_a_database(tmp_path))
        run = cli(*command)
        said = one_error_line(run)
        assert run.code == COULD_NOT_RUN
        assert f"SQLite store at {tmp_path / 'text.db'}: file is not a database" in said

    @pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
    def test_an_unreachable_server_is_named_without_its_password(
        self, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
    ) -> None:
        (tmp_path / "legacy.json").write_text("[]")
        monkeypatch.setenv("REGFLOW_DATABASE_URL", UNREACHABLE)
        run = cli(*command)
        said = one_error_line(run)
        assert run.code == COULD_NOT_RUN
        assert "PostgreSQL store at 127.0.0.1:1/db" in said and "refused" in said
        assert PASSWORD not in run.err

    @pytest.mark.parametrize("command", [["check-db"], ["verify-log"], ["batches"]], ids=" ".join)
    def test_a_directory_or_a_place_no_file_can_be_is_named(
        self, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
    ) -> None:
        monkeypatch.setenv("REGFLOW_DATABASE_URL", a_directory(tmp_path))
        run = cli(*command)
        assert run.code == COULD_NOT_RUN
        assert f"store at {tmp_path / 'folder.db'}: unable to open" in one_error_line(run)
        monkeypatch.setenv("REGFLOW_DATABASE_URL", "sqlite:////proc/regflow-test.db")
        monkeypatch.delenv("REGFLOW_SECRET_KEY")  # so that a key file is made beside the store
        run = cli(*command)
        said = one_error_line(run)
        assert run.code == COULD_NOT_RUN
        if command == [
            "check-db"
        ]:  # the one command besides serve and batch run that makes a store
            assert "cannot open /proc/regflow-test.key: No such file or directory" in said
        else:
            assert "No store at /proc/regflow-test.db" in said

    def test_bad_sql_is_a_fault_in_the_code_not_an_unusable_store(self) -> None:
        conn = sqlite3.connect(":memory:")
        with pytest.raises(sqlite3.OperationalError) as raised:
            conn.execute("SELECT * FROM no_such_table")
        assert store_unusable(raised.value) is None
        wrapped = es.OperationalError(raised.value)
        wrapped.__cause__ = raised.value
        assert store_unusable(wrapped) is None


class TestFilesThatCannotBeUsed:
    def test_a_batch_file_of_no_restaurants_names_each_bad_entry(
        self, cli: Cli, app: Registrations, tmp_path: Path
    ) -> None:
        (tmp_path / "junk.json").write_text(json.dumps([1, "x", None, {"name": "ok"}]))
        head = app.recorder.max_notification_id()
        run = cli("batch", "run", "junk.json")
        assert run.code == 1 and "Traceback" not in run.err
        named = [line.split(":")[0].strip(" -") for line in run.err.splitlines()[1:]]
        assert named == ["restaurants[0]", "restaurants[1]", "restaurants[2]"]
        assert app.recorder.max_notification_id() == head, "nothing was created"

    @pytest.mark.parametrize(
        ("content", "said"),
        [
            (None, "cannot open {path}: No such file or directory"),
            ("{not json", "{path}: Invalid JSON"),
            ('{"faults": [{"kind": "explode"}]}', "faults[0].kind: Input should be"),
        ],
    )
    def test_a_simulator_configuration_it_cannot_use_is_refused(
        self, cli: Cli, tmp_path: Path, content: str | None, said: str
    ) -> None:
        path = tmp_path / "faults.json"
        if content is not None:
            path.write_text(content)
        run = cli("simulator", "--port", "1", "--config", str(path))
        assert run.code == COULD_NOT_RUN and "Traceback" not in run.err
        assert said.format(path=path) in run.err


def refused_by_parser(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What the parser said refusing `argv` (parsed only: a server accepted would not stop)."""
    with pytest.raises(SystemExit) as refused:
        build_parser().parse_args(argv)
    assert refused.value.code == COULD_NOT_RUN
    return capsys.readouterr().err


class TestArgumentsOutOfRange:
    @pytest.mark.parametrize(
        ("argv", "named"),
        [
            (["simulator", "--port", "99999"], "argument --port: a port is 1 to 65535"),
            (["simulator", "--port", "0"], "argument --port"),
            (["serve", "--port", "99999"], "argument --port: a port is 1 to 65535"),
            (["batch", "run", "b.json", "--timeout", "0"], "argument --timeout"),
            (["batch", "run", "b.json", "--timeout", "-1"], "argument --timeout"),
            (["work", "--until-idle", "--timeout", "-1"], "argument --timeout"),
            (["batches", "--limit", "0"], "argument --limit: must be 1 or more"),
            (["batches", "--limit", "-5"], "argument --limit: must be 1 or more"),
            (["batches", "--org", ""], "argument --org: an organisation id cannot be empty"),
            (["batch", "run", "b.json", "--org", " "], "argument --org"),
            (["batch", "run", "b.json", "--org", "ev\x1b[2Jil"], "argument --org: control"),
            (["batches", "--org", "a\nb"], "argument --org: control, format and line-breaking"),
        ],
    )
    def test_is_refused_naming_the_flag(
        self, argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert named in refused_by_parser(argv, capsys)

    @pytest.mark.parametrize(
        "argv",
        [
            ["resume"],
            ["resume", "12345678", "--batch", "87654321"],
            ["resume", "--batch", "87654321"],
            ["mark", "12345678", "menuImport", "failed"],
        ],
    )
    def test_a_missing_argument_is_a_usage_error(self, cli: Cli, argv: list[str]) -> None:
        run = cli(*argv)
        assert run.code == COULD_NOT_RUN, run.err
        one_error_line(run)

    def test_an_unknown_event_type_is_refused_naming_the_known_ones(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        said = refused_by_parser(["events", "12345678", "--type", "JobCreated,Bogus"], capsys)
        assert "no job event is called Bogus" in said
        assert "known: JobCreated, Step6Started" in said and "SubStepFailed" in said

    def test_known_event_types_filter_in_any_case(self, cli: Cli, app: Registrations) -> None:
        batch_id, job_id = new_job(app, unique_org())
        app.start_step6(None, batch_id, None, "user:u-1")
        run = cli("events", job_id, "--json", "--type", "jobcreated", "--type", "STEP6STARTED")
        assert [e["type"] for e in run.lines()] == ["JobCreated", "Step6Started"]


class TestEveryCommandHasJson:
    def test_every_command_but_the_servers_takes_json(self) -> None:
        commands = {
            f"{name} {action}".strip(): leaf
            for name, command in subcommands(build_parser()).items()
            for action, leaf in (subcommands(command) or {"": command}).items()
        }
        without = [name for name, p in commands.items() if "--json" not in p._option_string_actions]
        assert "batch run" in commands and sorted(without) == ["serve", "simulator"]

    def test_version_as_json(self, cli: Cli) -> None:
        text, record = cli("version"), cli("version", "--json").lines()
        assert record == [{"version": record[0]["version"], "text": text.out.strip()}]
        assert text.out.strip() == f"regflow {record[0]['version']}"

    def test_work_ends_with_a_json_summary(self, cli: Cli, settings: Settings) -> None:
        run = cli("work", "--until-idle", "--timeout", "60", "--json")
        assert run.code == 0, run.err
        summary = json.loads(run.out)
        assert summary["idle"] is True and summary["stopped"] == "idle"
        assert summary["job_runs_ended"] == 0 and summary["store"] == settings.data_location
        assert "nothing to do" in run.err


def leaf_commands() -> dict[str, argparse.ArgumentParser]:
    """Every command that runs (`batch run`, not `batch`), by its words."""
    return {
        f"{name} {action}".strip(): leaf
        for name, command in subcommands(build_parser()).items()
        for action, leaf in (subcommands(command) or {"": command}).items()
    }


def blank_values() -> list[tuple[str, list[str]]]:
    """For every argument of every command that takes a value: the name argparse gives it, and
    the command line giving it BLANK (the positionals before it given as `x`)."""
    cases = []
    for words, parser in leaf_commands().items():
        positionals = 0
        for action in parser._actions:
            if action.nargs == 0 or isinstance(action, argparse._SubParsersAction):
                continue  # a flag, or --help
            if action.option_strings:
                given = [action.option_strings[0], BLANK]
            else:
                given = ["x"] * positionals + [BLANK]
                positionals += 1
            shown = "/".join(action.option_strings) or action.metavar or action.dest
            cases.append((f"{words}: {shown}", [*words.split(), *given]))
    return cases


BLANK = "\x00blank"  # replaced by each drawn blank value


@pytest.mark.parametrize(("name", "argv"), blank_values(), ids=[n for n, _ in blank_values()])
@given(blank=st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003\u3000", max_size=4))
@examples(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_empty_or_blank_value_is_refused_naming_its_argument(
    cli: Cli, tmp_path: Path, name: str, argv: list[str], blank: str
) -> None:
    """Never read as not given: `export --batch "$UNSET"` exported every organisation's
    events, and `events JOB --type ''` showed every event."""
    before = sorted(p.name for p in tmp_path.rglob("*"))
    run = cli(*[blank if a == BLANK else a for a in argv])
    assert run.code == COULD_NOT_RUN and run.out == "", (name, run)
    assert f"error: argument {name.split(': ')[1]}: " in run.err, run.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
