"""A worker id has one live holder; a later incarnation fences an earlier one's leases."""

from __future__ import annotations

import os
import socket
import uuid

import psycopg
import pytest

from infrastructure.engine.identity import WorkerIdTaken, hold_worker_id
from infrastructure.engine.leases import open_leases
from infrastructure.engine.worker_locks import advisory_key
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import store_settings
from tests.kit import until


def test_a_later_incarnation_takes_its_leases_back_at_once_and_fences_the_earlier(
    settings: Settings, app: Registrations
) -> None:
    """A restarted process: the earlier one is gone (its connections closed with it)."""
    earlier, later, other = open_leases(settings), open_leases(settings), open_leases(settings)
    try:
        job_id = str(uuid.uuid4())
        assert earlier.claim(job_id, "w", 30)
        if settings.is_postgres:
            earlier.close()  # the process died: its sessions end with it
            # A closed session's server process ends a moment after its client has gone (under
            # load, after a query made at once); long before the lease's 30 s run out.
            assert until(lambda: job_id in later.abandoned("w", 1000), timeout=10)
        assert later.claim(job_id, "w", 30), "a restarted process reclaims at once"
        if not settings.is_postgres:
            assert earlier.renew([job_id], "w", 30) == set()
            earlier.release([job_id], "w")
        assert later.renew([job_id], "w", 30) == {job_id}
        assert not other.claim(job_id, "other", 30)
    finally:
        for leases in (earlier, later, other):
            leases.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_live_earlier_incarnation_keeps_its_leases_until_they_expire(
    settings: Settings, app: Registrations
) -> None:
    """A process whose lock session alone was cut is alive and runs its jobs until it sees
    its id lost (a third of a lease). Another process that took the id meanwhile does not take
    its leases back while its calls may be in flight: only once they expire, which fences it."""
    earlier, later = open_leases(settings), open_leases(settings)
    try:
        job_id = str(uuid.uuid4())
        assert earlier.claim(job_id, "w", 1.0)
        assert not later.claim(job_id, "w", 30)
        assert job_id not in later.abandoned("w", 1000)
        assert earlier.renew([job_id], "w", 1.0) == {job_id}  # still the earlier's
        assert until(lambda: later.claim(job_id, "w", 30), timeout=10)
        assert earlier.renew([job_id], "w", 30) == set()  # fenced once taken
    finally:
        for leases in (earlier, later):
            leases.close()


def test_a_derived_id_held_by_a_live_holder_makes_the_next_one_take_another(
    database_url: str, app: Registrations
) -> None:
    derived = store_settings(database_url)
    first = hold_worker_id(derived)
    second = hold_worker_id(derived)
    try:
        assert first.worker_id == derived.effective_worker_id
        assert second.worker_id == f"{derived.effective_worker_id}#2"
        assert first.incarnation != second.incarnation
        assert first.holds() and second.holds()
    finally:
        second.release()
    third = hold_worker_id(derived)
    try:
        assert third.worker_id == second.worker_id, "a freed id is taken again"
    finally:
        third.release()
        first.release()


def test_an_explicit_id_held_by_a_live_holder_is_refused_until_it_is_freed(
    settings: Settings, app: Registrations
) -> None:
    holder = hold_worker_id(settings)
    with pytest.raises(WorkerIdTaken, match="is held by a live process"):
        hold_worker_id(settings)
    holder.release()
    again = hold_worker_id(settings)
    assert again.worker_id == settings.worker_id
    again.release()


def test_the_refusal_names_the_holding_process_whatever_the_ids_length(
    settings: Settings, app: Registrations
) -> None:
    long_id = settings.model_copy(update={"worker_id": "w-" + "x" * 120})
    holder = hold_worker_id(long_id)
    try:
        with pytest.raises(WorkerIdTaken) as taken:
            hold_worker_id(long_id)
        holding = f"(regflow pid {os.getpid()} on {socket.gethostname()})"
        assert holding in str(taken.value), "the holder is named whole, not cut with the id"
    finally:
        holder.release()


def test_an_empty_worker_id_variable_means_derived(
    database_url: str, app: Registrations, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGFLOW_WORKER_ID", "")
    empty = store_settings(database_url)
    assert empty.worker_id is None
    first, second = hold_worker_id(empty), hold_worker_id(empty)
    try:
        assert second.worker_id == f"{first.worker_id}#2", "derived, so a free one is taken"
    finally:
        second.release()
        first.release()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_given_empty_is_its_default(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in [v for v in os.environ if v.startswith("REGFLOW_")]:
        monkeypatch.delenv(variable)
    default = Settings(_env_file=None)
    monkeypatch.setenv(f"REGFLOW_{name.upper()}", "")
    assert getattr(Settings(_env_file=None), name) == getattr(default, name)


def _cut_sessions_named(url: str, name: str) -> None:
    """Terminate every session of this database whose name is `name` (a lost connection)."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s"
            " AND pid <> pg_backend_pid()",
            (name,),
        )


@pytest.mark.parametrize("calls", [1, 2, 5])
def test_a_lost_session_whose_id_was_taken_meanwhile_holds_it_no_more(
    pg_url: str, calls: int
) -> None:
    """A process whose lock session dropped while another took the id must not go on as its
    holder, however many times it asks and however well its new connection answers: two
    live processes with one id would run the same jobs at once."""
    settings = store_settings(pg_url, worker_id=f"w-{uuid.uuid4().hex[:8]}")
    first = hold_worker_id(settings)
    name = f"regflow pid {os.getpid()} on {socket.gethostname()}"[:63]
    _cut_sessions_named(pg_url, name)
    key = advisory_key(first.worker_id)
    with psycopg.connect(pg_url, autocommit=True, application_name="the other process") as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)
        for _ in range(calls):
            assert not first.holds(), "the id is the other process's now"
        with pytest.raises(WorkerIdTaken):
            hold_worker_id(settings)
        other.execute("SELECT pg_advisory_unlock(%s)", (key,))
        assert first.holds(), "freed, the id is taken again"
        assert not other.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
    first.release()
