"""Envelope keys on a store of their own: rotation, a wrong passphrase, an old store's upgrade."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import Application

from domain.job import RegistrationJob
from infrastructure.keys.ring import WrongPassphrase, legacy_store_key, org_owner
from infrastructure.keys.rotation import rotate
from infrastructure.keys.table import KeyTable
from infrastructure.persistence import APPLICATION_NAME, library_env
from infrastructure.settings import Settings
from infrastructure.usecases.erasure import erase_organisation, erasure_plan
from infrastructure.usecases.registrations import Registrations
from tests.conftest import new_database
from tests.integration.audit_kit import RESTAURANT, Cli, Run

OLD, NEW = "old-passphrase", "new-passphrase"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store no other test shares: rotation changes the passphrase of the whole store."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'keys.db'}"
        return
    request.getfixturevalue("pg_url")  # skips, or fails in CI, when PostgreSQL is unreachable
    with new_database("regflow_keys") as (_, url):
        yield url


@pytest.fixture
def regflow(
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Cli:
    """`regflow ARGS...` on the store, with REGFLOW_SECRET_KEY set by each test."""
    from api.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", store_url)

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def opened(url: str, passphrase: str) -> Registrations:
    return Registrations(Settings(_env_file=None, database_url=url, secret_key=passphrase))


def jobs_with_secrets(
    url: str, passphrase: str, orgs: tuple[str, ...] = ("org-a", "org-b")
) -> dict[str, dict[str, object]]:
    app = opened(url, passphrase)
    try:
        ids = {}
        for org in orgs:
            batch, jobs, _ = app.create_batch(org, "user:u-1", "keys", [RESTAURANT])
            app.start_step6(org, batch.id, None, "user:u-1")
            ids[str(jobs[0].id)] = app.job(jobs[0].id).execution_config
        return ids
    finally:
        app.close()


class TestRotation:
    def test_rotate_then_only_the_new_passphrase_reads_everything(
        self, store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        configs = jobs_with_secrets(store_url, OLD)
        monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
        monkeypatch.setenv("REGFLOW_OLD_SECRET_KEYS", f"not-this-one, {OLD}")
        rotated = regflow("rotate-keys")
        assert rotated.code == 0 and "re-wrapped 3 keys" in rotated.out
        monkeypatch.delenv("REGFLOW_OLD_SECRET_KEYS")
        app = opened(store_url, NEW)
        try:
            assert {job_id: app.job(job_id).execution_config for job_id in configs} == configs
        finally:
            app.close()
        assert regflow("rebuild-projections").code == 0
        assert regflow("replay", "--verify").code == 0
        assert regflow("verify-log").code == 0
        with pytest.raises(WrongPassphrase):
            opened(store_url, OLD)

    def test_without_the_old_passphrase_nothing_is_rewrapped(
        self, store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        jobs_with_secrets(store_url, OLD)
        monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
        refused = regflow("rotate-keys")
        assert refused.code == 2 and "REGFLOW_OLD_SECRET_KEYS" in refused.err  # could not run
        opened(store_url, OLD).close()

    def test_a_wrong_passphrase_is_a_clear_error_at_start(
        self, store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        jobs_with_secrets(store_url, OLD)
        monkeypatch.setenv("REGFLOW_SECRET_KEY", "wrong")
        run = regflow("check-db")
        assert run.code == 2  # could not run: a store its settings cannot open
        assert "REGFLOW_SECRET_KEY does not open this store's keys" in run.err
        assert "Traceback" not in run.err + run.out


class LegacyStore(Application[uuid.UUID]):
    name = APPLICATION_NAME


class TestOldStore:
    def old_store(self, url: str, passphrase: str) -> str:
        """A store as regflow wrote it before envelope keys: the passphrase's key, no table."""
        settings = Settings(_env_file=None, database_url=url, secret_key=passphrase)
        env = library_env(settings, legacy_store_key(passphrase))
        legacy = LegacyStore(env=env)
        job = RegistrationJob.register(uuid.uuid4(), "org-a", {"name": "Old"}, {"k": 1}, "u")
        legacy.save(job)
        legacy.close()
        return str(job.id)

    def test_an_old_store_is_upgraded_in_place_on_first_start(
        self, store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        job_id = self.old_store(store_url, OLD)
        app = opened(store_url, OLD)
        try:
            assert app.job(job_id).restaurant == {"name": "Old"}
        finally:
            app.close()
        monkeypatch.setenv("REGFLOW_SECRET_KEY", OLD)
        assert regflow("verify-log").code == 0

    def test_an_old_store_with_a_wrong_passphrase_is_refused_and_left_as_it_was(
        self, store_url: str
    ) -> None:
        job_id = self.old_store(store_url, OLD)
        with pytest.raises(WrongPassphrase, match="does not decrypt this store's events"):
            opened(store_url, "wrong")
        app = opened(store_url, OLD)
        try:
            assert app.job(job_id).restaurant == {"name": "Old"}
        finally:
            app.close()


def test_a_process_started_before_a_rotation_makes_no_key_the_new_passphrase_cannot_open(
    store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs_with_secrets(store_url, OLD)
    running = opened(store_url, OLD)
    try:
        monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
        monkeypatch.setenv("REGFLOW_OLD_SECRET_KEYS", OLD)
        assert regflow("rotate-keys").code == 0
        with pytest.raises(WrongPassphrase, match="restart it with the current"):
            running.create_batch("org-new", "user:u-1", "after", [RESTAURANT])
    finally:
        running.close()
    assert jobs_with_secrets(store_url, NEW)


def cursor_key(url: str, passphrase: str) -> bytes:
    app = opened(url, passphrase)
    try:
        return app.cursor_key
    finally:
        app.close()


def test_the_cursor_key_is_the_store_s_across_processes_and_rotations(
    store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = cursor_key(store_url, OLD)
    assert cursor_key(store_url, OLD) == key
    monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
    monkeypatch.setenv("REGFLOW_OLD_SECRET_KEYS", OLD)
    assert regflow("rotate-keys").code == 0
    assert cursor_key(store_url, NEW) == key
    for other in (OLD, NEW):  # another store: another key, whatever its passphrase
        assert cursor_key(f"sqlite:///{tmp_path / f'other-{other}.db'}", other) != key


def rotating_table(url: str) -> KeyTable:
    """The key table as `rotate-keys` opens it, to rotate to NEW."""
    return KeyTable(Settings(_env_file=None, database_url=url, secret_key=NEW))


class Paused:
    """Holds a thread inside one key-table call until let go: an interleaving made on purpose."""

    def __init__(self) -> None:
        self.reached, self.go = threading.Event(), threading.Event()

    def around(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def paused(*args: Any) -> Any:
            self.reached.set()
            assert self.go.wait(30)
            return call(*args)

        return paused


def beside(first: Callable[[], Any], paused: Paused, second: Callable[[], Any]) -> list[Any]:
    """`first` run until it reaches its pause, `second` run meanwhile (given a second to get
    as far as it can), then `first` let go; what each returned or raised."""
    outcomes: list[Any] = [None, None]

    def run(index: int, function: Callable[[], Any]) -> None:
        try:
            outcomes[index] = function()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate((first, second))]
    threads[0].start()
    assert paused.reached.wait(30)
    threads[1].start()
    threads[1].join(1.0)
    paused.go.set()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_a_rotation_re_wraps_a_key_made_beside_it(store_url: str) -> None:
    """A process on the old passphrase makes a new organisation's key while a rotation runs:
    the rotation re-wraps it, or the process is refused; no key stays under the old one."""
    jobs_with_secrets(store_url, OLD)
    running = opened(store_url, OLD)
    table = rotating_table(store_url)
    paused = Paused()
    running.key_table.insert = paused.around(running.key_table.insert)  # type: ignore[method-assign]
    try:
        made, rotated = beside(
            lambda: running.create_batch("org-new", "user:u-1", "beside", [RESTAURANT]),
            paused,
            lambda: rotate(table, NEW, [OLD]),
        )
        assert rotated == 4 if not isinstance(made, Exception) else rotated == 3, (made, rotated)
        assert rotate(table, NEW, []) >= 3, "every live key opens under the new passphrase"
    finally:
        running.close()
        table.close()


def test_a_rotation_gives_no_material_back_to_a_key_destroyed_beside_it(store_url: str) -> None:
    """An erasure while a rotation runs: the key is destroyed for good, or the erasure is
    refused and the key re-wrapped with the others."""
    jobs_with_secrets(store_url, OLD)
    app = opened(store_url, OLD)
    table = rotating_table(store_url)
    paused = Paused()
    table.rewrap = paused.around(table.rewrap)  # type: ignore[method-assign]
    try:
        plan = erasure_plan(app, "org-a", 1, 1)
        _, erased = beside(
            lambda: rotate(table, NEW, [OLD]),
            paused,
            lambda: erase_organisation(app, plan, "user:u-1"),
        )
        with table.transaction(write=False) as cur:
            kept = [row.wrapped for row in table.rows(cur, org_owner("org-a"))]
        if isinstance(erased, Exception):  # refused: its passphrase was rotated away meanwhile
            assert isinstance(erased, WrongPassphrase) and all(kept), erased
        else:
            assert kept == [None], "a destroyed key stays destroyed"
        assert rotate(table, NEW, []) >= 2, "every live key opens under the new passphrase"
    finally:
        app.close()
        table.close()


def test_an_erasure_on_a_passphrase_rotated_away_destroys_nothing(store_url: str) -> None:
    jobs_with_secrets(store_url, OLD)
    running = opened(store_url, OLD)  # started before the rotation
    table = rotating_table(store_url)
    try:
        assert rotate(table, NEW, [OLD]) == 3
        plan = erasure_plan(running, "org-a", 1, 1)
        with pytest.raises(WrongPassphrase, match="restart it with the current"):
            erase_organisation(running, plan, "user:u-1")
        with table.transaction(write=False) as cur:
            assert all(row.wrapped for row in table.rows(cur, org_owner("org-a")))
    finally:
        running.close()
        table.close()


def test_an_erasure_whose_scrub_a_rotation_stopped_says_what_is_done_and_what_is_left(
    store_url: str, regflow: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.cli.keys

    jobs_with_secrets(store_url, OLD)
    monkeypatch.setenv("REGFLOW_SECRET_KEY", OLD)
    scrub = api.cli.keys.rebuild_all

    def rotated_first(*args: Any) -> None:
        table = rotating_table(store_url)
        try:
            rotate(table, NEW, [OLD])
        finally:
            table.close()
        # A process on the new passphrase makes a key meanwhile: the erasing process never
        # opened it, and cannot, so its scrub of the read models stops there.
        jobs_with_secrets(store_url, NEW, ("org-c",))
        scrub(*args)

    monkeypatch.setattr(api.cli.keys, "rebuild_all", rotated_first)
    stopped = regflow("erase-organisation", "org-a", "--yes")
    assert stopped.code == 2, stopped
    assert "data keys are destroyed and the erasure recorded" in stopped.err
    assert "still show its data" in stopped.err
    monkeypatch.setattr(api.cli.keys, "rebuild_all", scrub)
    monkeypatch.setenv("REGFLOW_SECRET_KEY", NEW)
    again = regflow("erase-organisation", "org-a", "--yes")
    assert again.code == 0 and "0 data keys destroyed" in again.out, again


async def test_a_server_whose_passphrase_was_rotated_away_answers_503_saying_so(
    store_url: str, aiohttp_client: Any
) -> None:
    from api.runtime import build_app

    jobs_with_secrets(store_url, OLD)
    settings = Settings(
        _env_file=None,
        database_url=store_url,
        secret_key=OLD,
        api_keys="org-new:key-new",
        role="api",
    )
    client = await aiohttp_client(build_app(settings))
    table = rotating_table(store_url)
    try:
        rotate(table, NEW, [OLD])
    finally:
        table.close()
    answer = await client.post(
        "/api/registration-batches",
        json={"name": "after", "restaurants": [RESTAURANT]},
        headers={"Authorization": "Bearer key-new"},
    )
    assert answer.status == 503, await answer.text()
    assert "restart it with the current REGFLOW_SECRET_KEY" in (await answer.json())["message"]


def test_a_process_started_before_a_rotation_keeps_serving_the_keys_it_opened(
    store_url: str,
) -> None:
    """After `rotate-keys`, a running server answered 503 to a cancel, a mark, a reset or a
    resume of any job once its cached keys aged: it unwrapped them again with the passphrase
    rotated away. A key's material does not change; only a key it never opened (a new
    organisation's) needs the new passphrase, and a key destroyed since is gone."""
    jobs = jobs_with_secrets(store_url, OLD)
    running = opened(store_url, OLD)
    try:
        for job_id in jobs:
            assert running.job(job_id).execution_config == jobs[job_id]
        table = rotating_table(store_url)
        try:
            assert rotate(table, NEW, [OLD]) == 3
        finally:
            table.close()
        running.keyring.forget_cached()  # as when KEY_CACHE_SECONDS have passed
        for job_id in jobs:
            assert running.job(job_id).execution_config == jobs[job_id]
            running.cancel(None, job_id, "user:u-1", "after the rotation")
        with pytest.raises(WrongPassphrase, match="restart it with the current"):
            running.create_batch("org-new", "user:u-1", "after", [RESTAURANT])
        erasing = opened(store_url, NEW)
        try:
            erase_organisation(erasing, erasure_plan(erasing, "org-a", 1, 1), "user:u-1")
        finally:
            erasing.close()
        running.keyring.forget_cached()
        assert running.keyring.key("org-a", 1) is None
        assert running.keyring.key("org-b", 1) is not None
    finally:
        running.close()
