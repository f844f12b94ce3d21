"""Settings and arguments a command cannot run on: each refused in one line naming the variable
or flag, exit 2, never a traceback; and an unknown job is 1 to every command."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from api.cli import build_parser, main
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import RESTAURANT, Cli, Run, cli

__all__ = ["cli"]
COULD_NOT_RUN = 2
HUGE = "9" * 20  # past any integer a store holds
UNKNOWN_JOB = "6f1c2a9e-0000-4c6e-9a1f-2d3e4f5a6b7c"


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: what is under test is the command line's answer, not the store."""
    return sqlite_url


def refused_setting(cli: Cli, variable: str, argv: tuple[str, ...]) -> str:
    """The one line naming `variable` that `regflow ARGV` said refusing its value."""
    run = cli(*argv)
    assert run.code == COULD_NOT_RUN and "Traceback" not in run.err, run.err
    named = [line for line in run.err.splitlines() if variable in line]
    assert len(named) == 1, run.err
    return named[0]


def leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return [parser]
    return [leaf for g in groups for sub in g.choices.values() for leaf in leaf_parsers(sub)]


def integer_arguments() -> list[tuple[str, argparse.Action]]:
    """Every argument of every command whose value is a whole number."""
    found = []
    for parser in leaf_parsers(build_parser()):
        for action in parser._actions:
            if action.type is None or not callable(action.type):
                continue
            try:
                value = action.type("1")
            except (argparse.ArgumentTypeError, ValueError, TypeError):
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                found.append((f"{parser.prog} {'/'.join(action.option_strings)}", action))
    return found


class TestIntegerArguments:
    def test_there_are_some(self) -> None:
        names = [name for name, _ in integer_arguments()]
        assert {"regflow batches --limit", "regflow state --version"} <= set(names)

    @pytest.mark.parametrize("name_and_action", integer_arguments(), ids=lambda na: na[0])
    @pytest.mark.parametrize("text", [HUGE, f"-{HUGE}", str(2**63), "1e3", "0x10", " "])
    def test_out_of_a_stores_range_is_refused_by_the_parser(
        self, name_and_action: tuple[str, argparse.Action], text: str
    ) -> None:
        _, action = name_and_action
        assert callable(action.type)
        with pytest.raises(argparse.ArgumentTypeError):
            action.type(text)

    def test_a_huge_limit_ends_in_argparses_message(self, cli: Cli) -> None:
        run = cli("batches", "--limit", HUGE)
        assert run.code == COULD_NOT_RUN and "Traceback" not in run.err
        assert "regflow batches: error: argument --limit: must be at most" in run.err

    def test_the_largest_limit_lists(self, cli: Cli) -> None:
        assert cli("batches", "--all", "--limit", "1000000").code == 0


class TestDatabaseUrl:
    @pytest.mark.parametrize(
        ("url", "said"),
        [
            ("postgresql://postgres:s3cret-pw@127.0.0.1:notaport/x", "its port is not a number"),
            ("postgresql://postgres:s3cret-pw@127.0.0.1:99999/x", "its port is not a number"),
            ("postgresql://postgres:s3cret-pw@127.0.0.1:-1/x", "its port is not a number"),
            ("postgresql://postgres:s3cret-pw@[::1/x", "it is not a URL"),
            ("postgresql://postgres:s3cret-pw%zz@h/x", "not a PostgreSQL connection URL"),
            ("postgres://u:s3cret-pw@h/x?no_such_parameter=1", "not a PostgreSQL connection URL"),
        ],
    )
    def test_a_url_no_server_can_be_reached_at_is_a_settings_error(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch, url: str, said: str
    ) -> None:
        monkeypatch.setenv("REGFLOW_DATABASE_URL", url)
        for argv in (("batches", "--all"), ("check-db",), ("work", "--until-idle")):
            line = refused_setting(cli, "REGFLOW_DATABASE_URL", argv)
            assert said in line and "s3cret-pw" not in line


class TestDurations:
    @pytest.mark.parametrize("value", ["0", "0.001", "1e-9", "0.999", "-1"])
    def test_a_lease_lost_as_soon_as_it_is_taken_is_refused(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        monkeypatch.setenv("REGFLOW_LEASE_SECONDS", value)
        line = refused_setting(cli, "REGFLOW_LEASE_SECONDS", ("batches", "--all"))
        assert "greater than or equal to 1" in line

    @pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1e308", "86401"])
    def test_a_lease_that_would_never_expire_is_refused(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        monkeypatch.setenv("REGFLOW_LEASE_SECONDS", value)
        line = refused_setting(cli, "REGFLOW_LEASE_SECONDS", ("batches", "--all"))
        assert value not in line

    @pytest.mark.parametrize("value", ["1", "1.5", "30", "86400"])
    def test_a_lease_up_to_a_day_is_taken(self, value: str) -> None:
        assert Settings(_env_file=None, lease_seconds=value).lease_seconds == float(value)

    def test_every_number_setting_is_finite_and_every_duration_bounded(self) -> None:
        numbers = [
            n for n, f in Settings.model_fields.items() if f.annotation in (float, float | None)
        ]
        assert "lease_seconds" in numbers
        for name in numbers:
            durations = (1e308,) if name.endswith("_seconds") else ()
            for value in (math.inf, -math.inf, math.nan, *durations):
                with pytest.raises(ValidationError):
                    Settings(_env_file=None, **{name: value})

    def test_every_whole_number_setting_is_bounded(self) -> None:
        """A number past what the process can hold (2^63) is refused when read, not when used."""
        whole = [n for n, f in Settings.model_fields.items() if f.annotation in (int, int | None)]
        assert {"max_concurrent_jobs", "postgres_pool_size"} <= set(whole)
        for name in whole:
            for value in (2**63, 10**30):
                with pytest.raises(ValidationError):
                    Settings(_env_file=None, **{name: value})

    @pytest.mark.parametrize(
        "variable", ["REGFLOW_MAX_CONCURRENT_JOBS", "REGFLOW_POSTGRES_POOL_SIZE"]
    )
    def test_a_huge_count_is_a_settings_error(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch, variable: str
    ) -> None:
        monkeypatch.setenv(variable, str(2**63))
        refused_setting(cli, variable, ("work", "--until-idle"))

    @pytest.mark.parametrize(
        "config",
        [
            {"faults": [{"kind": "rate_limited", "retry_after": 1e308}]},
            {"faults": [{"kind": "timeout", "hang": math.inf}]},
            {"capacity": {"limit": 1, "retry_after": 3601}},
            {"latency": {"*": math.inf}},
            {"latency": {"menuImport": math.nan}},
        ],
    )
    def test_the_simulators_durations_are_at_most_an_hour(self, config: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            SimulatorConfig.model_validate(config)


class TestWorkerId:
    @pytest.mark.parametrize(
        "worker_id",
        ["w\n1", "w\x1b[31mred", "w\r", "w\x85", "a\u2028b", "a\u2029b", "a\u200bb", "\u202eab"],
    )
    def test_control_line_breaking_and_format_characters_are_refused(
        self, cli: Cli, monkeypatch: pytest.MonkeyPatch, worker_id: str
    ) -> None:
        monkeypatch.setenv("REGFLOW_WORKER_ID", worker_id)
        line = refused_setting(cli, "REGFLOW_WORKER_ID", ("work", "--until-idle"))
        assert worker_id not in line and "\x1b" not in line

    def test_a_printable_id_is_taken(self, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("REGFLOW_WORKER_ID", "host-1:worker é")
        run = cli("work", "--until-idle", "--timeout", "30")
        assert run.code == 0 and "worker host-1:worker é on" in run.err


class TestServeOnAnAddressItCannotHave:
    def test_a_host_that_is_no_address_is_a_settings_error(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
        monkeypatch.setenv("REGFLOW_SECRET_KEY", "test-passphrase")
        monkeypatch.setenv("REGFLOW_API_KEYS", "org:key")
        monkeypatch.setenv("REGFLOW_HOST", "999.1.1.1")
        assert main(["serve", "--port", "19301"]) == COULD_NOT_RUN
        err = capsys.readouterr().err
        assert "error: cannot listen on 999.1.1.1:19301: " in err and "REGFLOW_HOST" in err
        assert "Unknown error" not in err and "Traceback" not in err


def test_an_unknown_job_is_1_to_every_command_that_takes_one(cli: Cli) -> None:
    runs: dict[str, Run] = {
        "replay": cli("replay", "--verify", "--job", UNKNOWN_JOB),
        "events": cli("events", UNKNOWN_JOB),
        "state": cli("state", UNKNOWN_JOB),
        "resume": cli("resume", UNKNOWN_JOB),
        "cancel": cli("cancel", UNKNOWN_JOB),
    }
    assert {name: run.code for name, run in runs.items()} == dict.fromkeys(runs, 1)


WITH_THE_STORE = [
    ["check-db"],
    ["batches", "--all"],
    ["events", "JOB"],
    ["state", "JOB"],
    ["export", "--org", "ORG"],
    ["replay", "--verify"],
    ["verify-log"],
    ["cancel", "JOB"],
    ["work", "--until-idle", "--timeout", "5"],
]


@pytest.mark.parametrize("argv", WITH_THE_STORE, ids=lambda a: " ".join(a))
def test_a_passphrase_that_does_not_open_the_store_cannot_run_any_command(
    cli: Cli, app: Registrations, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """Exit 2, as for any store a command cannot open, whatever the command: not 1, which says
    a refusal (or, for `work`, stopping before idle)."""
    org = unique_org()
    batch, jobs, _ = app.create_batch(org, "user:u-1", "keys", [RESTAURANT])
    app.start_step6(org, batch.id, None, "user:u-1")
    monkeypatch.setenv("REGFLOW_SECRET_KEY", "not-the-passphrase")
    shown = [str(jobs[0].id) if a == "JOB" else org if a == "ORG" else a for a in argv]
    run = cli(*shown)
    assert run.code == COULD_NOT_RUN, (run.code, run.err)
    assert "Traceback" not in run.err and "passphrase" in run.err.lower(), run.err
