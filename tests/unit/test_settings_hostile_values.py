"""Values that read as set but cannot serve: a blank or short key, a blank list of API keys,
a URL with blanks around it, a `.env` that is a folder or holds a misspelt name. Each is
refused (or said) naming the variable, never its value."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.cli import main
from infrastructure.settings import Settings, unread_variables

COULD_NOT_RUN = 2
LONG_ENOUGH = "j" * 32


def refusal(**values: str) -> str:
    """What Settings said refusing `values` (read with no `.env`)."""
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, **values)  # type: ignore[arg-type]
    return str(refused.value)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with a store named in it, and no `REGFLOW_` variable set."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.upper().startswith("REGFLOW_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    return tmp_path


class TestJwtSecret:
    @pytest.mark.parametrize("secret", [" ", "\t \n", "x", "short-secret", "j" * 31, " " * 40])
    def test_a_blank_or_short_secret_is_refused_unquoted(self, secret: str) -> None:
        said = refusal(jwt_secret=secret)
        assert "REGFLOW_JWT_SECRET" in said and "32" in said
        assert secret.strip() == "" or secret not in said

    def test_32_characters_are_taken_and_empty_is_unset(
        self, cwd: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        assert Settings(_env_file=None, jwt_secret=LONG_ENOUGH).jwt_secret is not None
        monkeypatch.setenv("REGFLOW_JWT_SECRET", "")
        assert Settings().jwt_secret is None

    @pytest.mark.parametrize("secret", [" ", "x"])
    def test_serve_with_a_blank_or_short_secret_starts_nothing(
        self, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys, secret: str
    ) -> None:
        monkeypatch.setenv("REGFLOW_JWT_SECRET", secret)
        with socket.create_server(("127.0.0.1", 0)) as taken:  # a serve that starts ends at once
            port = str(taken.getsockname()[1])
            assert main(["serve", "--port", port]) == COULD_NOT_RUN
        err = capsys.readouterr().err
        assert "REGFLOW_JWT_SECRET" in err and "Traceback" not in err
        assert list(cwd.iterdir()) == []  # no store, no key file


class TestPassphrases:
    @pytest.mark.parametrize("variable", ["secret_key", "old_secret_keys"])
    @pytest.mark.parametrize("blank", [" ", "   ", "\t"])
    def test_a_passphrase_of_blanks_only_is_refused(self, variable: str, blank: str) -> None:
        assert f"REGFLOW_{variable.upper()}" in refusal(**{variable: blank})

    def test_an_empty_passphrase_is_unset(self, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("REGFLOW_SECRET_KEY", "")
        monkeypatch.setenv("REGFLOW_OLD_SECRET_KEYS", "")
        settings = Settings()
        assert settings.secret_key is None and settings.old_secret_keys is None

    def test_the_cli_refuses_a_blank_secret_key(
        self, cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys
    ) -> None:
        monkeypatch.setenv("REGFLOW_SECRET_KEY", " ")
        assert main(["check-db"]) == COULD_NOT_RUN
        assert "REGFLOW_SECRET_KEY" in capsys.readouterr().err


class TestApiKeysAndUrl:
    @pytest.mark.parametrize("value", [" ", ",", " , "])
    def test_api_keys_naming_no_key_are_refused(self, value: str) -> None:
        assert "REGFLOW_API_KEYS" in refusal(api_keys=value)

    @pytest.mark.parametrize("url", [" sqlite:///x.db", "sqlite:///x.db ", "\tpostgresql://h/d"])
    def test_a_database_url_with_blanks_around_it_says_so(self, url: str) -> None:
        said = refusal(database_url=url)
        assert "REGFLOW_DATABASE_URL" in said and "blanks around it" in said
        assert "must start with" not in said


class TestEnvFile:
    def test_a_folder_named_env_is_refused_naming_its_path(self, cwd: Path, capsys) -> None:
        (cwd / ".env").mkdir()
        assert main(["batches", "--all"]) == COULD_NOT_RUN
        err = capsys.readouterr().err
        assert str(cwd / ".env") in err and "folder" in err

    def test_a_misspelt_name_in_env_is_said_as_in_the_environment(self, cwd: Path) -> None:
        (cwd / ".env").write_text("REGFLOW_LEASE_SECOND=5\nREGFLOW_PORT=9000\n")
        assert unread_variables({}) == [
            "REGFLOW_LEASE_SECOND (in .env) is not a setting regflow reads (did you mean"
            " REGFLOW_LEASE_SECONDS?); it is ignored"
        ]

    def test_the_cli_warns_of_a_misspelt_name_in_env(self, cwd: Path) -> None:
        """In a process of its own: the log is set up once per process, and an earlier test's
        set-up would take the warning elsewhere."""
        (cwd / ".env").write_text("REGFLOW_LEASE_SECOND=5\n")
        command = [sys.executable, "-m", "api", "work", "--until-idle", "--timeout", "5"]
        run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
        assert "REGFLOW_LEASE_SECONDS?" in run.stderr, run.stderr
