"""The command line records who acted as `cli:<login name>`: an identity as every other, so a
login name that reads as a credential or holds control characters is refused (exit 2) and
nothing is recorded."""

from __future__ import annotations

from uuid import UUID

import pytest

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli, new_job

__all__ = ["cli"]

REFUSED = ["token=SXuser1", "password=hunter2", "ev\x1bil", "a\u202eb", "Bearer abcdefgh123"]


def mark_as(cli: Cli, monkeypatch: pytest.MonkeyPatch, user: str, job_id: str) -> int:
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, user)
    return cli("mark", job_id, "menuImport", "skipped", "--reason", "by hand").code


@pytest.mark.parametrize("user", REFUSED)
def test_a_login_name_that_is_no_identity_is_refused_and_records_nothing(
    cli: Cli, app: Registrations, monkeypatch: pytest.MonkeyPatch, user: str
) -> None:
    _, job_id = new_job(app, unique_org())
    before = len(list(app.events.get(UUID(job_id))))
    assert mark_as(cli, monkeypatch, user, job_id) == 2
    assert len(list(app.events.get(UUID(job_id)))) == before


def test_an_ordinary_login_name_is_recorded_as_who_acted(
    cli: Cli, app: Registrations, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, job_id = new_job(app, unique_org())
    assert mark_as(cli, monkeypatch, "alice.o-brien", job_id) == 0
    [marked] = [e for e in app.events.get(UUID(job_id)) if type(e).__name__ == "ManualStatusSet"]
    assert marked.actor == "cli:alice.o-brien"
