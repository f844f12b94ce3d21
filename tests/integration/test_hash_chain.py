"""`regflow verify-log` on SQLite and PostgreSQL: intact logs pass, tampering is named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import pytest

from infrastructure.chain.hashing import event_hash
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, RawLog, cli, new_job, restoring
from tests.integration.test_projections import drive, new_batch
from tests.kit import restaurants

__all__ = ["cli"]


def started_job(app: Registrations) -> str:
    """A job with four events: created, Step 6 started, phase 1 started, a sub-step started."""
    batch_id, job_id = new_job(app, unique_org())
    app.start_step6(None, batch_id, None, "user:u-1")
    app.update_job(job_id, None, lambda j: j.start_sub_step("cloudwaitressAccount"))
    return job_id


def problems_of(cli: Cli, job_id: str) -> tuple[int, list[tuple[int, str]]]:
    run = cli("verify-log", "--json")
    report = run.lines()[0]
    found = [(p["version"], p["kind"]) for p in report["problems"] if p["aggregate_id"] == job_id]
    return run.code, found


@pytest.fixture
def raw(settings: Settings, app: Registrations) -> RawLog:
    return RawLog(settings, app)


class TestIntactLog:
    def test_intact_log_passes_with_exit_0(self, cli: Cli, app: Registrations) -> None:
        job_id = started_job(app)
        run = cli("verify-log", "--json")
        report = run.lines()[0]
        assert run.code == 0 and report["ok"] is True
        assert report["chained_events"] >= 4
        assert job_id not in report["unchained_aggregates"]

    def test_table_says_the_log_is_intact(self, cli: Cli, app: Registrations) -> None:
        started_job(app)
        run = cli("verify-log")
        assert run.code == 0
        assert "log intact" in run.out


@pytest.fixture
def job_id(app: Registrations, raw: RawLog) -> Iterator[str]:
    """A started job whose rows the test may tamper with: they are put back afterwards."""
    job_id = started_job(app)
    with restoring(raw, job_id):
        yield job_id


class TestTampering:
    def test_edited_event_bytes_are_caught(self, cli: Cli, raw: RawLog, job_id: str) -> None:
        topic, state = raw.event(job_id, 2)
        raw.put(job_id, 2, topic, state[:-1] + bytes([state[-1] ^ 0x01]))
        assert problems_of(cli, job_id) == (1, [(2, "edited")])

    def test_deleted_event_is_caught(self, cli: Cli, raw: RawLog, job_id: str) -> None:
        raw.delete(job_id, 3)
        assert problems_of(cli, job_id) == (1, [(3, "deleted")])

    def test_event_deleted_with_its_chain_entry_is_caught(
        self, cli: Cli, raw: RawLog, job_id: str
    ) -> None:
        raw.delete(job_id, 2)
        raw.delete(job_id, 2, table=raw.chain)
        assert problems_of(cli, job_id) == (1, [(2, "missing"), (3, "relinked")])

    def test_swapped_events_are_caught(self, cli: Cli, raw: RawLog, job_id: str) -> None:
        second, third = raw.event(job_id, 2), raw.event(job_id, 3)
        raw.put(job_id, 2, *third)
        raw.put(job_id, 3, *second)
        assert problems_of(cli, job_id) == (1, [(2, "edited"), (3, "edited")])

    def test_a_chain_recomputed_without_the_key_is_caught(
        self, cli: Cli, raw: RawLog, job_id: str
    ) -> None:
        raw.put(job_id, 3, *raw.event(job_id, 2))
        previous = None
        for version in range(1, 5):
            topic, state = raw.event(job_id, version)
            digest = event_hash(previous, job_id, version, topic, state)
            raw.run(
                f"UPDATE {raw.chain} SET hash=?, previous_hash=?"
                " WHERE originator_id=? AND originator_version=?",
                (digest, previous, raw.key(job_id), version),
            )
            previous = digest
        code, problems = problems_of(cli, job_id)
        assert code == 1 and (1, "edited") in problems

    def test_table_names_the_aggregate_and_version(
        self, cli: Cli, raw: RawLog, job_id: str
    ) -> None:
        raw.delete(job_id, 4)
        run = cli("verify-log")
        assert run.code == 1
        assert job_id in run.out and "version 4 deleted" in run.out


class TestLogsWithoutChain:
    @contextmanager
    def plain_app(
        self, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[Registrations]:
        """The same store through the library's recorder, which keeps no chain; closed after."""
        module = "eventsourcing.postgres" if settings.is_postgres else "eventsourcing.sqlite"
        monkeypatch.setenv("REGISTRATIONS_PERSISTENCE_MODULE", module)
        try:
            plain = Registrations(settings)
        finally:
            monkeypatch.delenv("REGISTRATIONS_PERSISTENCE_MODULE")
        with closing(plain):
            yield plain

    def chain_begins_now(self, settings: Settings, app: Registrations) -> None:
        """Start the chain after every event stored so far, as a store that gained it does."""
        raw, position = (
            RawLog(settings, app),
            "notification_id" if settings.is_postgres else "rowid",
        )
        start = app.recorder.chain_start_table_name
        raw.run(f"UPDATE {start} SET notification_id = (SELECT MAX({position}) FROM {raw.events})")

    def test_pre_chain_log_is_reported_unchained_not_failed(
        self, cli: Cli, app: Registrations, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with self.plain_app(settings, monkeypatch) as plain:
            batch_id, job_id = new_job(plain, unique_org())
        self.chain_begins_now(settings, app)
        run = cli("verify-log", "--json")
        report: dict[str, Any] = run.lines()[0]
        assert run.code == 0
        assert {job_id, batch_id} <= set(report["unchained_aggregates"])

    def test_job_continued_after_the_chain_arrived_is_partially_chained(
        self, cli: Cli, app: Registrations, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with self.plain_app(settings, monkeypatch) as plain:
            batch_id, job_id = new_job(plain, unique_org())
        self.chain_begins_now(settings, app)
        app.start_step6(None, batch_id, None, "user:u-1")
        run = cli("verify-log", "--json")
        partial = run.lines()[0]["partially_chained"]
        assert run.code == 0
        assert {"aggregate_id": job_id, "chained_from": 2} in partial

    def test_event_written_around_the_chain_after_it_started_fails(
        self, cli: Cli, app: Registrations, settings: Settings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        batch_id, job_id = new_job(app, unique_org())
        raw = RawLog(settings, app)
        with restoring(raw, job_id), restoring(raw, batch_id):
            with self.plain_app(settings, monkeypatch) as plain:
                plain.start_step6(None, batch_id, None, "user:u-1")
            code, found = problems_of(cli, job_id)
        assert (code, found) == (1, [(2, "unlinked")])


class TestChainAfterJobsComeToRest:
    def test_settled_jobs_are_forgotten_and_their_next_events_chain_right(
        self, cli: Cli, app: Registrations
    ) -> None:
        """Jobs that complete, fail or are cancelled leave the recorder's recent hashes (on
        PostgreSQL; SQLite keeps none); their next events, after a resume or an edit, read
        the predecessor's hash from the chain table, and the whole log verifies."""
        batch_id, jobs = new_batch(app, unique_org(), 4)
        app.start_step6(None, batch_id, None, "user:u-1")
        drive(app, jobs[0]), drive(app, jobs[1], fail="menuImport")
        app.cancel(None, jobs[2], "user:u-1", "not now")
        recent = getattr(app.recorder, "recent", None)
        if recent is not None:
            assert recent.known([(j, app.job(j).version) for j in jobs[:3]]) == {}
            assert recent.known([(jobs[3], app.job(jobs[3]).version)]) != {}
            assert app.recorder._pending.links == []  # nothing of the last insert is kept
        app.resume(None, jobs[1], "user:u-1", "again")
        app.resume(None, jobs[2], "user:u-1", "again")
        drive(app, jobs[2])
        app.edit(None, jobs[0], [("restaurantRegistration", "pending", None)], "user:u-1", "redo")
        run = cli("verify-log", "--json")
        report = run.lines()[0]
        assert run.code == 0 and report["ok"] is True, report["problems"]


# A PostgreSQL bytea column holds nothing but bytes: a state retyped as text is SQLite's alone.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def chain_start(app: Registrations) -> str:
    """The chain's start table (a row deleted from it is recorded again, later, when the store
    is next opened: no earlier row is put back, which would claim later unchained events)."""
    table: str = app.recorder.chain_start_table_name
    return table


def drop_chain(raw: RawLog, job_id: str) -> None:
    raw.run(f"DELETE FROM {raw.chain} WHERE originator_id=?", (raw.key(job_id),))


class TestChainStart:
    def test_all_chain_entries_of_a_job_deleted_are_caught(
        self, cli: Cli, raw: RawLog, job_id: str
    ) -> None:
        drop_chain(raw, job_id)
        assert problems_of(cli, job_id) == (1, [(v, "unlinked") for v in range(1, 5)])

    def test_chain_deleted_then_events_swapped_is_caught(
        self, cli: Cli, raw: RawLog, job_id: str
    ) -> None:
        drop_chain(raw, job_id)
        second, third = raw.event(job_id, 2), raw.event(job_id, 3)
        raw.put(job_id, 2, *third)
        raw.put(job_id, 3, *second)
        assert problems_of(cli, job_id) == (1, [(v, "unlinked") for v in range(1, 5)])

    def test_chain_deleted_then_last_event_deleted_is_caught(
        self, cli: Cli, raw: RawLog, job_id: str
    ) -> None:
        drop_chain(raw, job_id)
        raw.delete(job_id, 4)
        run = cli("verify-log")
        assert run.code == 1 and job_id in run.out and "version 3 has no chain entry" in run.out

    def test_store_without_a_start_verifies_as_before(
        self, cli: Cli, raw: RawLog, job_id: str, chain_start: str
    ) -> None:
        """A store whose chain is older than its start row records the start when next opened:
        what it stored before then is reported as predating the chain, as it was."""
        raw.run(f"DELETE FROM {chain_start}")
        drop_chain(raw, job_id)
        run = cli("verify-log", "--json")
        report = run.lines()[0]
        assert run.code == 0 and report["ok"] is True
        assert job_id in report["unchained_aggregates"]
        assert report["chain_start"] == raw.run(f"SELECT notification_id FROM {chain_start}")[0][0]

    @SQLITE_ONLY
    def test_state_stored_as_text_is_caught(self, cli: Cli, raw: RawLog, job_id: str) -> None:
        raw.run(
            f"UPDATE {raw.events} SET state=CAST(state AS TEXT) "
            "WHERE originator_id=? AND originator_version=3",
            (raw.key(job_id),),
        )
        assert problems_of(cli, job_id) == (1, [(3, "retyped")])


CUTS = {
    "first event deleted": ("DELETE", 1, "version 2 is stored where version 1 should be"),
    "middle event deleted": ("DELETE", 2, "version 3 is stored where version 2 should be"),
    "event before the last deleted": ("DELETE", 3, "version 4 is stored where version 3"),
    "event renumbered past the end": ("MOVE", 2, "version 3 is stored where version 2"),
    "event's bytes edited": ("EDIT", 2, "a stored event cannot be read"),
    "two events swapped": ("SWAP", 2, "version 2 does not match its hash: edited or swapped"),
}
# How the check of an aggregate's log against the chain, made before reading its events where
# they are read in log order (an organisation's export), says the same cut.
SAID_BY_THE_CHAIN = {"event's bytes edited": "version 2 does not match its hash"}
READERS = {
    "events": ("events", "{job}"),
    "state": ("state", "{job}"),
    "state at a version": ("state", "{job}", "--version", "3"),
    "export": ("export", "--batch", "{batch}"),
    "export of the organisation": ("export", "--org", "{org}"),
    "resume": ("resume", "{job}"),
    "cancel": ("cancel", "{job}", "--reason", "tampered"),
    "reset": ("reset", "{job}", "cloudwaitressAccount", "--reason", "tampered"),
    "events by a prefix": ("events", "{prefix}"),
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("cut", CUTS)
def test_a_log_changed_by_hand_is_said_by_every_command_reading_it(
    cli: Cli, app: Registrations, raw: RawLog, cut: str, reader: str
) -> None:
    """A job's events with one deleted, moved out of sequence or edited (not the newest deleted:
    a log cut at its end is a shorter log): each command reading it exits 2 saying which job
    and what is wrong, never a traceback, and changes nothing."""
    org = unique_org()
    batch_id, job_id = new_job(app, org)
    app.start_step6(None, batch_id, None, "user:u-1")
    app.update_job(job_id, None, lambda j: j.start_sub_step("cloudwaitressAccount"))
    how, version, said = CUTS[cut]
    if reader.startswith("export of"):
        said = SAID_BY_THE_CHAIN.get(cut, said)
    with restoring(raw, job_id):
        if how == "DELETE":
            raw.delete(job_id, version)
        elif how == "EDIT":
            topic, state = raw.event(job_id, version)
            raw.put(job_id, version, topic, state[:-1] + bytes([state[-1] ^ 0x01]))
        elif how == "SWAP":
            first, second = raw.event(job_id, version), raw.event(job_id, version + 1)
            raw.put(job_id, version, *second)
            raw.put(job_id, version + 1, *first)
        else:
            raw.run(
                f"UPDATE {raw.events} SET originator_version=9 "
                "WHERE originator_id=? AND originator_version=?",
                (raw.key(job_id), version),
            )
        left = raw.run(
            f"SELECT count(*) FROM {raw.events} WHERE originator_id=?", (raw.key(job_id),)
        )
        names = {"job": job_id, "batch": batch_id, "org": org, "prefix": job_id[:13]}
        args = [a.format(**names) for a in READERS[reader]]
        run = cli(*args)
        assert run.code == 2 and "Traceback" not in run.err, run.err
        assert job_id in run.err and said in run.err and "regflow verify-log" in run.err
        assert (
            raw.run(f"SELECT count(*) FROM {raw.events} WHERE originator_id=?", (raw.key(job_id),))
            == left
        )


class TestEventsOfATamperedLog:
    def events_of(self, cli: Cli, job_id: str) -> str:
        run = cli("events", job_id)
        assert run.code == 2 and "Traceback" not in run.err
        assert "regflow verify-log" in run.err
        return run.err

    def test_edited_event_is_named(self, cli: Cli, raw: RawLog, job_id: str) -> None:
        topic, state = raw.event(job_id, 2)
        raw.put(job_id, 2, topic, state[:-1] + bytes([state[-1] ^ 0x01]))
        said = self.events_of(cli, job_id)
        assert "cannot be read" in said and "originator_version 2" in said

    @SQLITE_ONLY
    def test_state_stored_as_text_is_named(self, cli: Cli, raw: RawLog, job_id: str) -> None:
        raw.run(
            f"UPDATE {raw.events} SET state=CAST(state AS TEXT) "
            "WHERE originator_id=? AND originator_version=3",
            (raw.key(job_id),),
        )
        assert "stored as text" in self.events_of(cli, job_id)


def test_one_tampered_job_leaves_the_others_readable_by_prefix_and_is_named_by_the_listings(
    cli: Cli, app: Registrations, raw: RawLog
) -> None:
    """An event deleted from one job stops the read models there: another job is still found
    by the prefix of its id, and read; the listings, which need the read models, exit 2 naming
    the job whose log was changed, not `an aggregate`."""
    batch_id, tampered = new_job(app, unique_org())
    app.start_step6(None, batch_id, None, "user:u-1")
    app.update_job(tampered, None, lambda j: j.start_sub_step("cloudwaitressAccount"))
    _, intact = new_job(app, unique_org())
    with restoring(raw, tampered):
        raw.delete(tampered, 2)
        run = cli("events", intact[:13])
        assert run.code == 0 and "Traceback" not in run.err, run.err
        run = cli("state", intact[:8], "--json")
        assert run.code == 0 and run.lines()[0]["job_id"] == intact
        for listing in (("batches", "--all"), ("jobs", batch_id)):
            run = cli(*listing)
            assert run.code == 2 and "Traceback" not in run.err, (listing, run.err)
            assert tampered in run.err and "an aggregate" not in run.err, (listing, run.err)


def test_a_batch_resume_skips_a_job_whose_log_was_changed_and_resumes_the_others(
    cli: Cli, app: Registrations, raw: RawLog
) -> None:
    """`resume --batch B --failed` changes no job whose log breaks its chain: that one is
    listed not resumed, saying why, and the batch's other failed jobs are resumed (exit 1)."""
    batch, jobs, _ = app.create_batch(unique_org(), "user:u-1", "chain", restaurants(2))
    app.start_step6(None, batch.id, None, "user:u-1")
    ids = [str(j.id) for j in jobs]

    def failed(job: Any) -> None:
        job.claim("worker-1")
        while ready := job.runnable():
            for key in ready:
                job.start_sub_step(key)
                if key == "restaurantRegistration":
                    job.fail_sub_step(key, "HTTP 400: refused", transient=False)
                else:
                    job.complete_sub_step(key, {})
        job.finish()

    for job_id in ids:
        app.update_job(job_id, None, failed)
    tampered, intact = ids
    with restoring(raw, tampered):
        second, third = raw.event(tampered, 2), raw.event(tampered, 3)
        raw.put(tampered, 2, *third)
        raw.put(tampered, 3, *second)
        run = cli("resume", "--batch", str(batch.id), "--failed", "--json")
        assert run.code == 1 and "Traceback" not in run.err, run.err
        answers = {a["job_id"]: a for a in json.loads(run.out)}
        assert answers[intact]["resumed"] is True
        assert answers[tampered]["resumed"] is False
        assert "hash chain" in answers[tampered]["error"] and tampered in answers[tampered]["error"]
        assert str(app.job(intact).status) == "in_progress"
        assert str(app.job(tampered).status) == "failed"
