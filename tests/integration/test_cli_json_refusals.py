"""With --json, a refusal is a JSON document on standard output, as the API answers one, with the
exit code it has without --json; without --json it stays one `error:` line on standard error."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from api.cli import build_parser
from infrastructure.engine import open_leases
from infrastructure.logs import StandardError
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli, new_job, subcommands

__all__ = ["cli"]
UNKNOWN = str(uuid.uuid4())
REFUSED_IDS = {
    "events": ["events", "{job}"],
    "state": ["state", "{job}"],
    "jobs": ["jobs", "{batch}"],
    "start": ["start", "{batch}"],
    "resume": ["resume", "{job}"],
    "reset": ["reset", "{job}", "menuImport", "--reason", "r"],
    "mark": ["mark", "{job}", "menuImport", "failed", "--reason", "r"],
    "cancel": ["cancel", "{job}"],
    "replay": ["replay", "--verify", "--job", "{job}"],
    "export": ["export", "--batch", "{batch}"],
}
"""Every command taking a job or batch id, with an id in its place."""


@pytest.fixture(autouse=True)
def logging_as_a_command_has_it() -> Iterator[None]:
    """The root logger as a `regflow` command has it: warnings and errors on standard error
    (the interpreter's last resort), not the handler an earlier test's `work` left."""
    root = logging.getLogger()
    left = [h for h in root.handlers if isinstance(h, StandardError)]
    for handler in left:
        root.removeHandler(handler)
    root.addHandler(logging.lastResort)
    yield
    root.removeHandler(logging.lastResort)
    for handler in left:
        root.addHandler(handler)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: what is under test is the command line's answer, not the store."""
    return sqlite_url


def said_both_ways(cli: Cli, argv: list[str]) -> dict[str, object]:
    """Run `argv` without and with --json: the refusal must be the same, said each way."""
    text, as_json = cli(*argv), cli(*argv, "--json")
    assert text.code == as_json.code != 0, (text, as_json)
    assert text.out == "" and text.err.startswith("error: "), text
    assert as_json.err == "", as_json.err
    document = json.loads(as_json.out)
    assert document["success"] is False and document["errors"], document
    assert text.err.splitlines()[0] == f"error: {document['message']}"
    return dict(document)


def test_the_table_names_every_command_that_takes_an_id() -> None:
    taking_ids = {
        name
        for name, parser in subcommands(build_parser()).items()
        for action in parser._actions
        if action.dest in ("job", "batch") and "--json" in parser._option_string_actions
    }
    assert taking_ids == set(REFUSED_IDS)


@pytest.mark.parametrize("command", sorted(REFUSED_IDS))
@pytest.mark.parametrize("given", [UNKNOWN, UNKNOWN[:8], "not-an-id"])
def test_an_id_refused_is_a_json_refusal(cli: Cli, command: str, given: str) -> None:
    argv = [part.format(job=given, batch=given) for part in REFUSED_IDS[command]]
    document = said_both_ways(cli, argv)
    assert given in document["message"] or given[:8] in document["message"]


def test_refusals_of_the_state_are_json_refusals(cli: Cli, app: Registrations) -> None:
    batch_id, job_id = new_job(app, unique_org())
    pending = said_both_ways(cli, ["reset", job_id, "menuImport", "--reason", "r"])
    unmet = said_both_ways(cli, ["mark", job_id, "websiteConfig", "completed", "--reason", "r"])
    never_started = said_both_ways(cli, ["resume", job_id])
    app.start_step6(None, batch_id, None, "user:u-1")
    running = said_both_ways(cli, ["mark", job_id, "menuImport", "skipped", "--reason", "r"])
    app.cancel(None, job_id, "user:u-1", None)
    cancelled = said_both_ways(cli, ["cancel", job_id])
    assert "already pending" in pending["message"]
    assert unmet["errors"] == [
        "Cannot mark websiteConfig as completed: codeGeneration is pending",
        "Cannot mark websiteConfig as completed: restaurantRegistration is pending",
    ]
    assert "No Step 6 progress" in never_started["message"]
    assert "is running" in running["message"]
    assert "it is cancelled" in cancelled["message"]


def test_a_command_that_could_not_run_still_says_so_on_standard_error(cli: Cli) -> None:
    run = cli("mark", UNKNOWN, "menuImport", "failed", "--json")
    assert (run.code, run.out) == (2, "")
    assert run.err.startswith("error: Give a --reason")


@pytest.mark.parametrize(
    "argv",
    [
        ["mark", "menuImport", "failed", "--reason", "r"],
        ["mark", "menuImport", "completed", "--reason", "r", "--dry-run"],
        ["reset", "restaurantRegistration", "--reason", "r"],
    ],
    ids=["mark", "mark, dry run", "reset of a dependency"],
)
def test_an_edit_of_a_call_in_flight_is_refused_as_the_api_refuses_it(
    cli: Cli, app: Registrations, settings: Settings, argv: list[str]
) -> None:
    batch_id, job_id = new_job(app, unique_org())
    app.start_step6(None, batch_id, None, "user:u-1")
    leases = open_leases(settings)  # the worker waiting for the call holds the job's lease
    assert leases.claim(job_id, "test-worker", 600)
    leases.close()
    job = app.job(job_id)
    job.claim("test-worker")
    for key in (*job.runnable(), "restaurantRegistration"):
        job.start_sub_step(key)
        job.complete_sub_step(key, {"codeInjectionId": "ci-1"})
    job.start_sub_step("menuImport")
    job.cancel("user:u-1", None)
    app.store(job)
    document = said_both_ways(cli, [argv[0], job_id, *argv[1:]])
    message = document["message"]
    assert message.startswith("Cannot ") and "menuImport" in message
    assert "its call to the registration API is still in flight" in message
    assert app.job(job_id).sub_steps["menuImport"].status == "in_progress"
