"""Free text that quotes a job's personal data, as the log stores it: the quoted values sealed
(in events and snapshots), the chain verifying after an erasure, a quoted secret never stored,
a restaurant's name and its config's texts treated as reasons are, and events stored before
quotes were sealed read as they were. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate

from domain.job import RegistrationJob
from domain.secrets import REDACTED
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli
from tests.integration.test_erasure import stored_snapshot_text, table_texts
from tests.kit import PASSWORD

__all__ = ["cli"]

ERASED = "[erased]"


def personal(org: str) -> dict[str, str]:
    """Personal data of the organisation's own (its id in it), to search for."""
    digits = str(uuid.uuid4().int)[:7]
    email = f"owner-{org.removeprefix('org-')}@quote.example"
    return {"email": email, "phone": f"+64 21 {digits[:3]} {digits[3:]}"}


def restaurant(values: dict[str, str], name: str = "Diner") -> dict[str, Any]:
    account = {"email": values["email"], "password": PASSWORD, "phone": values["phone"]}
    # directions are public text quoting a phone; an address is a person's data as a whole
    place = {
        "name": name,
        "directions": f"1 Queen St (call {values['phone']})",
        "address": "2 Albert St",
    }
    return {"name": name, "execution_config": {"account": account, "restaurant": place}}


def new_job(app: Registrations, org: str, values: dict[str, str], **changes: Any) -> UUID:
    _, jobs, _ = app.create_batch(org, "user:u-1", "quotes", [restaurant(values, **changes)])
    return jobs[0].id


def stored_events_text(app: Registrations, job_id: UUID) -> str:
    """The job's events as the store decrypts them, before their fields are unsealed."""
    assert app.mapper.cipher is not None
    rows = app.recorder.select_events(job_id)
    return "".join(app.mapper.cipher.decrypt(row.state).decode() for row in rows)


def reason_of(app: Registrations, job_id: UUID, kind: type[Any]) -> Any:
    return [e for e in app.repository.event_store.get(job_id) if isinstance(e, kind)][-1].reason


class TestQuotesInTheLog:
    def test_quoted_values_are_sealed_and_erased_and_the_chain_verifies(
        self, cli: Cli, app: Registrations
    ) -> None:
        org = unique_org()
        values = personal(org)
        job_id = new_job(app, org, values)
        reason = f"owner {values['email']} ({values['phone']}) asked for no payments"
        app.edit(org, job_id, [("paymentConfig", "failed", None)], "user:u-1", reason)
        app.take_snapshot(job_id)
        stored = stored_events_text(app, job_id) + stored_snapshot_text(app, str(job_id))
        assert "asked for no payments" in stored
        assert [v for v in values.values() if v in stored] == []
        assert reason_of(app, job_id, RegistrationJob.ManualStatusSet) == reason

        assert cli("erase-organisation", org, "--yes").code == 0
        fresh = Registrations(app.settings)
        try:
            job = fresh.job(job_id)  # from its snapshot
            erased = f"owner {ERASED} ({ERASED}) asked for no payments"
            assert job.sub_steps["paymentConfig"].reason == erased
            assert job.sub_steps["paymentConfig"].error == f"marked failed: {erased}"
            assert reason_of(fresh, job_id, RegistrationJob.ManualStatusSet) == erased
        finally:
            fresh.close()
        assert [v for v in values.values() if v in table_texts(app.settings)] == []
        assert cli("verify-log").code == 0
        assert cli("replay", "--verify", "--job", str(job_id)).code == 0

    def test_a_quoted_secret_is_masked_never_stored_and_erased(
        self, cli: Cli, app: Registrations
    ) -> None:
        org = unique_org()
        job_id = new_job(app, org, personal(org))
        app.cancel(org, job_id, "user:u-1", f"the password {PASSWORD} was refused")
        assert PASSWORD not in stored_events_text(app, job_id)
        cancelled = RegistrationJob.JobCancelled
        assert reason_of(app, job_id, cancelled) == f"the password {REDACTED} was refused"
        assert cli("erase-organisation", org, "--yes").code == 0
        fresh = Registrations(app.settings)
        try:
            assert reason_of(fresh, job_id, cancelled) == f"the password {ERASED} was refused"
        finally:
            fresh.close()

    def test_an_event_stored_before_quotes_were_sealed_reads_as_it_was(
        self, app: Registrations
    ) -> None:
        org = unique_org()
        values = personal(org)
        job_id = new_job(app, org, values)
        reason = f"owner {values['email']} asked"
        job = app.job(job_id)
        # Recorded as before: the library's trigger, which marks no quote.
        Aggregate.trigger_event(job, job.JobCancelled, actor="user:u-1", reason=reason, stopped=[])
        app.store(job)
        assert values["email"] in stored_events_text(app, job_id)
        fresh = Registrations(app.settings)
        try:
            read = reason_of(fresh, job_id, RegistrationJob.JobCancelled)
        finally:
            fresh.close()
        assert (read, type(read)) == (reason, str)
        job = app.job(job_id)
        job.resume("user:u-1")
        job.cancel("user:u-1", f"again, for {values['email']}")
        app.store(job)
        assert stored_events_text(app, job_id).count(values["email"]) == 1


class TestOtherTextsQuotingPersonalData:
    def test_a_restaurant_name_and_a_config_text_show_the_quotes_erased(
        self, cli: Cli, app: Registrations
    ) -> None:
        org = unique_org()
        values = personal(org)
        name = f"Diner of {values['email']}"
        job_id = new_job(app, org, values, name=name)
        assert app.job(job_id).restaurant["name"] == name
        assert [v for v in values.values() if v in stored_events_text(app, job_id)] == []
        assert cli("erase-organisation", org, "--yes").code == 0
        fresh = Registrations(app.settings)
        try:
            job = fresh.job(job_id)
            assert job.restaurant["name"] == f"Diner of {ERASED}"
            config = job.execution_config["restaurant"]
            assert config == {
                "name": f"Diner of {ERASED}",
                "directions": f"1 Queen St (call {ERASED})",
                "address": ERASED,
            }
        finally:
            fresh.close()
        assert [v for v in values.values() if v in table_texts(app.settings)] == []


def test_the_operations_log_masks_what_a_reason_quotes(
    app: Registrations, caplog: pytest.LogCaptureFixture
) -> None:
    org = unique_org()
    values = personal(org)
    job_id = new_job(app, org, values)
    with caplog.at_level(logging.INFO, logger="regflow.operations"):
        app.cancel(org, job_id, "user:u-1", f"owner {values['email']} asked")
    said = [r.getMessage() for r in caplog.records if r.name == "regflow.operations"]
    assert said[-1] == f"job {job_id} cancelled by user:u-1, reason: owner {REDACTED} asked"
