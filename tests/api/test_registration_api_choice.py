"""No silent simulator: on PostgreSQL the engine needs a registration API named, and every job
records which one its calls went to."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from eventsourcing.persistence import Mapper
from pydantic import ValidationError

from api.cli import main
from api.runtime import build_app
from domain.job import RegistrationJob
from infrastructure.settings import RegistrationApiMissing, Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import TEST_SECRET, store_settings

NAMED = "REGFLOW_REGISTRATION_API_URL"


def pg_settings(pg_url: str, **fields: object) -> Settings:
    return store_settings(pg_url, api_keys="org:key", **fields)


class TestEngineRefusesWithoutAnApiOnPostgres:
    @pytest.mark.parametrize("role", ["all", "worker"])
    def test_serve_with_an_engine_role_refuses(self, pg_url: str, role: str) -> None:
        with pytest.raises(RegistrationApiMissing, match=NAMED):
            build_app(pg_settings(pg_url, role=role))

    def test_serve_with_the_api_role_starts(self, pg_url: str) -> None:
        assert build_app(pg_settings(pg_url, role="api")) is not None

    @pytest.mark.parametrize(
        "argv",
        [["serve", "--role", "worker"], ["work", "--until-idle"], ["batch", "run", "x.json"]],
    )
    def test_commands_exit_naming_the_variable_and_store_nothing(
        self,
        pg_url: str,
        argv: list[str],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        (tmp_path / "x.json").write_text(json.dumps([{"name": "Buzz"}]))
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("REGFLOW_DATABASE_URL", pg_url)
        monkeypatch.setenv("REGFLOW_API_KEYS", "org:key")
        monkeypatch.setenv("REGFLOW_SECRET_KEY", TEST_SECRET)
        # A port in use (PostgreSQL's): the variable is named before the address is taken.
        monkeypatch.setenv("REGFLOW_PORT", "5432")
        monkeypatch.delenv(NAMED, raising=False)
        before = self._head(pg_url)
        assert main(argv) == 2  # a setting the command cannot run without
        assert NAMED in capsys.readouterr().err
        assert self._head(pg_url) == before

    @pytest.mark.parametrize("blank", ["", "  "])
    def test_a_blank_url_is_as_good_as_none(self, pg_url: str, blank: str) -> None:
        with pytest.raises(RegistrationApiMissing):
            pg_settings(pg_url, registration_api_url=blank).require_registration_api()

    @staticmethod
    def _head(pg_url: str) -> int:
        app = Registrations(store_settings(pg_url))
        try:
            return app.recorder.max_notification_id() or 0
        finally:
            app.close()


class TestWhichApiIsNamed:
    @pytest.mark.parametrize(
        ("database_url", "url", "label"),
        [
            ("sqlite:///x.db", None, "simulator"),
            ("sqlite:///x.db", "simulator", "simulator"),
            ("postgresql://p@h/db", "simulator", "simulator"),
            ("postgresql://p@h/db", "https://reg.example.com/base", "reg.example.com"),
            ("sqlite:///x.db", "http://user:pw@10.0.0.7:8090", "10.0.0.7:8090"),
        ],
    )
    def test_label(self, database_url: str, url: str | None, label: str) -> None:
        settings = Settings(_env_file=None, database_url=database_url, registration_api_url=url)
        assert settings.registration_api_label == label

    def test_the_sqlite_default_needs_nothing(self) -> None:
        Settings(_env_file=None, database_url="sqlite:///x.db").require_registration_api()


class TestAMalformedApiIsRefused:
    @pytest.mark.parametrize(
        "url",
        [
            "notaurl",
            "Simulator",
            "reg.example.com:8090",
            "ftp://reg.example.com",
            "http://",
            "https:///base",
            "http://reg.example.com:99999",
            "https://reg.example.com/base?x=1",
        ],
    )
    def test_neither_simulator_nor_an_http_url_with_a_host(self, url: str) -> None:
        with pytest.raises(ValidationError, match=NAMED):
            Settings(_env_file=None, registration_api_url=url)

    def test_batch_run_exits_2_and_makes_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "f.json").write_text(json.dumps([{"name": "Buzz"}]))
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'regflow.db'}")
        monkeypatch.setenv(NAMED, "notaurl")
        assert main(["batch", "run", "f.json"]) == 2
        err = capsys.readouterr().err
        assert NAMED in err and "notaurl" not in err
        assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


class TestJobsRecordTheirApi:
    def test_a_claim_records_the_api_and_the_document_shows_it(self, app: Registrations) -> None:
        batch, jobs, _ = app.create_batch("org", "user:u", "b", [{"name": "Buzz"}])
        app.start_step6("org", batch.id, None, "user:u")
        job = app.job(jobs[0].id)
        job.claim("w-1", "reg.example.com")
        app.store(job)
        again = app.job(jobs[0].id)
        assert again.registration_api == "reg.example.com"

    def test_a_claim_stored_before_the_field_existed_reads_as_not_recorded(
        self, app: Registrations
    ) -> None:
        batch, jobs, _ = app.create_batch("org", "user:u", "b", [{"name": "Buzz"}])
        app.start_step6("org", batch.id, None, "user:u")
        job = app.job(jobs[0].id)
        job.claim("w-1", "reg.example.com")
        claimed = [e for e in job.collect_events() if isinstance(e, RegistrationJob.Claimed)][0]
        mapper = Mapper(transcoder=app.mapper.transcoder)
        stored = mapper.to_stored_event(claimed)
        state = mapper.transcoder.decode(stored.state)
        assert state.pop("class_version") == 2
        del state["registration_api"]
        v1 = replace(stored, state=mapper.transcoder.encode(state))
        decoded = mapper.to_domain_event(v1)
        assert decoded.registration_api is None and decoded.worker_id == "w-1"
