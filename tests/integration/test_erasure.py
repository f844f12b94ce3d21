"""`regflow erase-organisation` on SQLite and PostgreSQL: keys destroyed, events kept."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from typing import Any

import psycopg

from domain.secrets import ERASED
from infrastructure.settings import Settings
from infrastructure.usecases.erasure import erase_organisation, erasure_plan
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.live.service import ReadModelService
from projections.offline.rebuild import verify
from projections.queries import ViewQueries
from projections.schema import Schema
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli
from tests.kit import card_number

__all__ = ["cli"]


def sensitive_job(app: Registrations, org: str) -> tuple[str, dict[str, str]]:
    """A started job whose config and manual result carry unique personal data and secrets."""
    tag = uuid.uuid4().hex[:10]
    values = {
        "email": f"owner-{tag}@buzz.example",
        "password": f"pw-{tag}",
        "person": f"Person {tag}",
        "result_key": f"rk-{tag}",
        "result_email": f"result-{tag}@buzz.example",
        "pin": f"pin-{tag}",
        # a person's identifiers in fields no schema declares: personal by their names
        "ssn": f"987-{tag}",
        "birth": f"1970-02-02T{tag}",
        "iban": f"NZ{tag}",
        # a person's name, address and tax id, and whatever is filed under a person
        "owner_name": f"Owner {tag}",
        "address": f"{tag} Queen Street",
        "tax": f"TAX-{tag}",
        "contact": f"Contact {tag}",
        "surname": f"Surname-{tag}",
        # a card's number under names that do not say so, as text and as a number
        "card": card_number(tag),
        "card_as_number": card_number(tag[::-1]),
    }
    restaurant = {
        "name": f"Buzz {tag}",
        "execution_config": {
            "account": {"email": values["email"], "password": values["password"]},
            "onboarding_user": {"name": values["person"]},
            "payment": {"card_pin": values["pin"]},
            "menu": {"menu_id": f"m-{tag}", "toppings": ["cheese"]},
            "owner": {
                "ssn": values["ssn"],
                "date_of_birth": values["birth"],
                "name": values["owner_name"],
            },
            "bank": {"iban": values["iban"], "tax_id": values["tax"]},
            "restaurant": {"address": {"street": values["address"]}},
            "services": {
                "contact_name": values["contact"],
                "people": [{"surname": values["surname"]}],
                "card": " ".join(values["card"][i : i + 4] for i in range(0, 16, 4)),
                "billing": [{"pan": int(values["card_as_number"])}],
            },
        },
    }
    batch, jobs, _ = app.create_batch(org, "user:u-1", "erasure", [restaurant])
    app.start_step6(org, batch.id, None, "user:u-1")
    job = app.job(jobs[0].id)
    job.claim("test-worker")
    job.start_sub_step("cloudwaitressAccount")
    answer = {"apiKey": values["result_key"], "email": values["result_email"], "accountId": tag}
    job.complete_sub_step("cloudwaitressAccount", answer)
    job.cancel("engine", "stopped by the test")
    app.store(job)
    typed = {"codeInjectionId": f"ci-{tag}", "session_cookie": values["pin"] + "-c"}
    app.edit(org, job.id, [("codeGeneration", "completed", typed)], "user:u-1", "by hand")
    values["cookie"] = values["pin"] + "-c"
    app.take_snapshot(job.id)  # a long job's snapshot holds its config and results too
    return str(job.id), values


def stored_snapshot_text(app: Registrations, job_id: str) -> str:
    """The job's snapshots as the store decrypts them, before the fields are unsealed."""
    assert app.snapshots is not None and app.mapper.cipher is not None
    rows = app.snapshots.recorder.select_events(uuid.UUID(job_id))
    return "".join(app.mapper.cipher.decrypt(row.state).decode() for row in rows)


def table_texts(settings: Settings) -> str:
    """Every row of every table of the database, as text."""
    if settings.is_postgres:
        with psycopg.connect(settings.database_url) as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                )
            ]
            return "\n".join(
                str(row[0]) for n in names for row in conn.execute(f'SELECT t::text FROM "{n}" t')
            )
    with closing(sqlite3.connect(settings.sqlite_path)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [row for n in names for row in conn.execute(f'SELECT * FROM "{n}"')]
    return "\n".join(
        (v.decode("latin-1") if isinstance(v, bytes) else str(v)) for row in rows for v in row
    )


def views_of(settings: Settings, job_id: str) -> dict[str, Any]:
    db = Database(settings)
    try:
        queries = ViewQueries(db, Schema())
        return {"job": queries.job_progress(job_id), "timeline": queries.timeline(job_id)}
    finally:
        db.close()


class TestEraseOrganisation:
    def test_erasure_forgets_one_organisation_and_keeps_the_log(
        self, cli: Cli, app: Registrations, settings: Settings
    ) -> None:
        gone, kept = unique_org(), unique_org()
        gone_job, gone_values = sensitive_job(app, gone)
        kept_job, kept_values = sensitive_job(app, kept)
        assert cli("rebuild-projections").code == 0
        shown = table_texts(settings)
        assert gone_values["email"] in shown and gone_values["person"] in shown
        assert gone_values["password"] not in shown and gone_values["result_key"] not in shown
        assert gone_values["card"] not in shown.replace(" ", "")
        assert gone_values["card_as_number"] not in shown
        kept_before = views_of(settings, kept_job)
        snapshot = stored_snapshot_text(app, gone_job)
        assert "cloudwaitressAccount" in snapshot
        assert not [v for v in gone_values.values() if v in snapshot]

        preview = cli("erase-organisation", gone)
        assert preview.code == 0 and "would erase" in preview.out
        assert gone_values["email"] in table_texts(settings)

        assert cli("erase-organisation", gone, "--yes").code == 0
        text = table_texts(settings)
        assert not [v for v in gone_values.values() if v in text]
        assert kept_values["email"] in text
        assert cli("verify-log").code == 0
        assert cli("replay", "--verify").code == 0
        assert views_of(settings, kept_job) == kept_before
        self.assert_shown_as_erased(settings, gone_job, kept_job, kept_values)

    def test_an_erasure_cut_short_before_its_rebuild_is_scrubbed_by_the_running_views(
        self, app: Registrations, settings: Settings
    ) -> None:
        """`erase-organisation --yes` destroys the key, records the erasure, then rebuilds the
        views. Killed between the two, the views kept the personal data for good, under a log
        that said it was erased. The views' runner now scrubs the rows as it applies the
        erasure, in whichever process runs them: here one that read the jobs with the key."""
        gone, kept = unique_org(), unique_org()
        gone_job, gone_values = sensitive_job(app, gone)
        kept_job, kept_values = sensitive_job(app, kept)
        views = ReadModelService(settings, app)
        views.start()
        try:
            views.catch_up(60)
            assert gone_values["email"] in table_texts(settings)
            kept_before = views_of(settings, kept_job)
            cli_process = Registrations(settings)
            try:
                plan = erasure_plan(cli_process, gone, 1, 1)
                erase_organisation(cli_process, plan, "cli:test")  # and killed here
            finally:
                cli_process.close()
            views.catch_up(60)
        finally:
            views.stop()
        text = table_texts(settings)
        assert not [v for v in gone_values.values() if v in text]
        assert kept_values["email"] in text
        assert views_of(settings, kept_job) == kept_before
        assert verify(settings, app) == []
        self.assert_shown_as_erased(settings, gone_job, kept_job, kept_values)

    def assert_shown_as_erased(
        self, settings: Settings, gone_job: str, kept_job: str, kept_values: dict[str, str]
    ) -> None:
        fresh = Registrations(settings)
        try:
            gone = fresh.job(gone_job)  # loaded from its snapshot
            assert gone.execution_config["account"]["email"] == ERASED
            assert gone.sub_steps["cloudwaitressAccount"].result["email"] == ERASED
            assert gone.execution_config["menu"]["toppings"] == ["cheese"]
            assert gone.sub_steps["cloudwaitressAccount"].status == "completed"
            kept = fresh.job(kept_job)
            assert kept.execution_config["account"]["password"] == kept_values["password"]
            assert (
                kept.sub_steps["cloudwaitressAccount"].result["email"]
                == (kept_values["result_email"])
            )
        finally:
            fresh.close()
        views = views_of(settings, gone_job)
        result = views["job"]["sub_step_progress"]["phases"]["phase1"]["sub_steps"]
        assert result["cloudwaitressAccount"]["result"]["email"] == ERASED
        created = views["timeline"][0]["data"]["execution_config"]
        assert created["onboarding_user"]["name"] == ERASED

    def test_the_erasure_is_an_event_in_the_log(
        self, cli: Cli, app: Registrations, settings: Settings
    ) -> None:
        org = unique_org()
        sensitive_job(app, org)
        assert cli("erase-organisation", org, "--yes", "--json").lines()[0]["data_keys"] == 1
        head = app.recorder.max_notification_id() or 0
        last = app.recorder.select_notifications(start=head, limit=1)[0]
        event = vars(app.mapper.to_domain_event(last))
        assert last.topic == "regflow:OrganisationErasure.Created"
        assert event["organisation_id"] == org and event["actor"].startswith("cli:")

    def test_an_unknown_organisation_is_refused_and_nothing_recorded(
        self, cli: Cli, app: Registrations
    ) -> None:
        head = app.recorder.max_notification_id()
        run = cli("erase-organisation", unique_org(), "--yes")
        assert run.code == 1 and "nothing to erase" in run.err
        assert app.recorder.max_notification_id() == head

    def test_a_batch_the_views_have_not_read_yet_is_counted(
        self, cli: Cli, app: Registrations
    ) -> None:
        """An organisation with no secrets has no data key: what it holds is counted from the
        read models, brought up to the log's head first, not as a step behind left them."""
        org = unique_org()
        app.create_batch(org, "cli:test", "no secrets", [{"name": "Buzz"}, {"name": "Fizz"}])
        run = cli("erase-organisation", org, "--json")
        assert run.code == 0, run.err
        assert {k: run.lines()[0][k] for k in ("data_keys", "jobs", "batches")} == {
            "data_keys": 0,
            "jobs": 2,
            "batches": 1,
        }


class TestKeysForgottenByAnotherProcess:
    def test_a_key_read_while_the_cache_was_emptied_is_not_kept(self, app: Registrations) -> None:
        """A look-up that began before the cache was emptied (another process destroyed the
        key meanwhile) is not served from the cache afterwards: the next reads the table."""
        org = unique_org()
        generation, _ = app.keyring.data_key(org)
        keyring, table = app.keyring, app.key_table
        keyring.forget_cached()
        rows = table.rows

        def rows_forgotten_meanwhile(cur: Any, owner: str | None = None) -> Any:
            found = rows(cur, owner)
            keyring.forget_cached()  # as the engine's erasure watch does on news
            return found

        table.rows = rows_forgotten_meanwhile  # type: ignore[method-assign]
        try:
            assert keyring.key(org, generation) is not None  # read before the destruction
        finally:
            table.rows = rows  # type: ignore[method-assign]
        with table.transaction() as cur:
            table.destroy(cur, f"org:{org}", "user:ops")
        assert keyring.key(org, generation) is None
