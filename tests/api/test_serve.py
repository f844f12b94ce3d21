"""`regflow serve` configuration and the roles' route sets."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from api.cli.serve import configured
from infrastructure.settings import Settings, reveal
from tests.api.conftest import BASE, Caller, MakeClient
from tests.conftest import TEST_SECRET

REGFLOW = str(Path(sys.executable).with_name("regflow"))


def serve_args(**given: object) -> argparse.Namespace:
    return argparse.Namespace(**({"host": None, "port": None, "role": None} | given))


class TestServeConfiguration:
    def test_without_auth_a_development_key_is_made(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("REGFLOW_JWT_SECRET", raising=False)
        monkeypatch.delenv("REGFLOW_API_KEYS", raising=False)
        monkeypatch.chdir("/tmp")
        settings, key = configured(serve_args(port=9999, role="api"))
        assert key and reveal(settings.api_keys) == f"dev:{key}"
        assert (settings.port, settings.role) == (9999, "api")

    def test_configured_auth_is_kept(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("REGFLOW_API_KEYS", "acme:k1")
        monkeypatch.chdir("/tmp")
        settings, key = configured(serve_args())
        assert (key, reveal(settings.api_keys)) == (None, "acme:k1")


async def test_worker_role_serves_only_health_and_metrics(
    aiohttp_client: MakeClient, api_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(api_settings.model_copy(update={"role": "worker"})))
    org, key = (reveal(api_settings.api_keys) or "").split(",")[0].split(":", 1)
    caller = Caller(client, org, key)
    assert (await caller.get("/health/live"))[0] == 200
    assert (await caller.get(BASE))[0] == 404
    async with client.get("/metrics", headers={"Authorization": f"Bearer {key}"}) as response:
        assert response.status == 200


def test_the_development_key_survives_a_restart_in_the_default_organisation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REGFLOW_JWT_SECRET", raising=False)
    monkeypatch.delenv("REGFLOW_API_KEYS", raising=False)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'regflow.db'}")
    monkeypatch.setenv("REGFLOW_DEFAULT_ORG", "acme")
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    settings, key = configured(serve_args())
    again, same = configured(serve_args())
    assert key and same == key and reveal(again.api_keys) == f"acme:{key}"
    kept = tmp_path / "data" / "regflow.api-key"
    assert kept.read_text().strip() == key and kept.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("taken_by", ["socket", "regflow"])
def test_a_port_in_use_is_refused_naming_it_before_anything_starts(
    tmp_path: Path, taken_by: str
) -> None:
    """A second `regflow serve` on a port in use exits with one line naming the port and the
    setting, and starts no engine, views or simulator on the store first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGFLOW_")} | {
        "REGFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'regflow.db'}",
        "REGFLOW_SECRET_KEY": TEST_SECRET,
        "REGFLOW_API_KEYS": "org:key",
    }
    holder = socket.create_server(("127.0.0.1", 0))
    port = str(holder.getsockname()[1])
    first = None
    if taken_by == "regflow":
        holder.close()
        first = subprocess.Popen(
            [REGFLOW, "serve", "--port", port],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert first.stdout is not None
        while b"listening on" not in (line := first.stdout.readline()):
            assert line, "the first server ended"
    try:
        second = subprocess.run(
            [REGFLOW, "serve", "--port", port],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.close()
        if first is not None:
            first.terminate()
            first.communicate(timeout=30)
    assert second.returncode == 2
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use." in second.stderr
    assert "REGFLOW_PORT" in second.stderr and "Traceback" not in second.stderr
    assert "engine" not in second.stderr and "simulator" not in second.stdout


def test_the_simulator_on_a_port_in_use_is_refused_naming_it(tmp_path: Path) -> None:
    holder = socket.create_server(("127.0.0.1", 0))
    port = str(holder.getsockname()[1])
    try:
        run = subprocess.run(
            [REGFLOW, "simulator", "--port", port], capture_output=True, text=True, timeout=60
        )
    finally:
        holder.close()
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"error: cannot listen on 127.0.0.1:{port}: Address already in use." in run.stderr
    assert "--port" in run.stderr


def json_log_env(tmp_path: Path) -> dict[str, str]:
    """`regflow serve` on a new SQLite file, JSON log lines, and nothing else configured: no
    secret key (a warning), no auth (a development key), the built-in simulator."""
    return {k: v for k, v in os.environ.items() if not k.startswith("REGFLOW_")} | {
        "REGFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'regflow.db'}",
        "REGFLOW_LOG_FORMAT": "json",
        "PYTHONWARNINGS": "always",
    }


def not_json(text: str) -> list[str]:
    """The lines of `text` that are not a JSON object."""
    wrong = []
    for line in text.splitlines():
        try:
            assert isinstance(json.loads(line), dict)
        except (ValueError, AssertionError):
            wrong.append(line)
    return wrong


def test_with_json_log_lines_every_line_serve_writes_is_json(tmp_path: Path) -> None:
    """Started, refused a second time on its port, and stopped: standard output and error are
    JSON lines only; the development key and the addresses are fields of theirs."""
    env = json_log_env(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = str(probe.getsockname()[1])
    first = subprocess.Popen(
        [REGFLOW, "serve", "--port", port],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        said = []
        while "listening on" not in (line := first.stdout.readline()):
            assert line, "the server ended"
            said.append(line)
        second = subprocess.run(
            [REGFLOW, "serve", "--port", port],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        first.send_signal(signal.SIGINT)
    finally:
        out, err = first.communicate(timeout=60)
    assert second.returncode == 2 and "Address already in use" in second.stderr
    everything = "".join(said) + line + out + err + second.stdout + second.stderr
    assert not_json(everything) == []
    assert "REGFLOW_SECRET_KEY is unset" in err
    assert {"api_key", "simulator_url"} <= {name for x in said for name in json.loads(x)}


REFUSED_SETTINGS = {
    "REGFLOW_PORT": "eighty",
    "REGFLOW_POSTGRES_POOL_SIZE": "-7777",
    "REGFLOW_WORKER_ID": "worker\x07one",
    "REGFLOW_LEASE_SECONDS": "inf",
}


@pytest.mark.parametrize("command", ["serve", "work"])
@pytest.mark.parametrize("variable", sorted(REFUSED_SETTINGS))
def test_with_json_log_lines_a_refused_setting_is_said_in_one(
    tmp_path: Path, command: str, variable: str
) -> None:
    """The settings are read after the log's format: a refused one is a JSON line naming the
    variable, never its value, and nothing else is written."""
    value = REFUSED_SETTINGS[variable]
    env = json_log_env(tmp_path) | {variable: value}
    run = subprocess.run(
        [REGFLOW, command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2, run.stderr
    assert not_json(run.stdout + run.stderr) == []
    lines = [json.loads(line) for line in run.stderr.splitlines()]
    refusal = [x for x in lines if x["level"] == "ERROR"]
    assert len(refusal) == 1, lines
    assert refusal[0]["message"] == "the configuration is not valid"
    assert [e.split(":")[0] for e in refusal[0]["errors"]] == [variable]
    assert value not in run.stdout + run.stderr


def test_a_log_format_refused_is_said_as_text_naming_it(tmp_path: Path) -> None:
    env = json_log_env(tmp_path) | {"REGFLOW_LOG_FORMAT": "yaml", "REGFLOW_PORT": "eighty"}
    run = subprocess.run(
        [REGFLOW, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2 and run.stderr.startswith("error: the configuration is not valid:")
    assert "REGFLOW_LOG_FORMAT" in run.stderr and "REGFLOW_PORT" in run.stderr


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["serve", "--port", "99999"], "argument --port: a port is 1 to 65535"),
        (["work", "--timeout", "-5"], "argument --timeout: must be more than 0 seconds"),
        (["work", "--bogus"], "unrecognized arguments: --bogus"),
        (["serve", "--bogus", "x\x1b[31m"], "unrecognized arguments: --bogus"),
    ],
)
def test_a_start_refused_for_its_arguments_is_one_json_line(
    tmp_path: Path, argv: list[str], said: str
) -> None:
    """With JSON lines, a start refused for a bad argument printed argparse's usage as text."""
    env = json_log_env(tmp_path)
    run = subprocess.run(
        [REGFLOW, *argv], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2
    assert not_json(run.stderr) == [] and run.stdout == ""
    lines = [json.loads(line) for line in run.stderr.splitlines()]
    assert len(lines) == 1 and said in lines[0]["message"], lines
    assert "\x1b" not in run.stderr


def test_a_variable_naming_no_setting_is_said_in_the_log(tmp_path: Path) -> None:
    """A misspelt setting left its setting at the default, silently."""
    env = json_log_env(tmp_path) | {"REGFLOW_LEASE_SECOND": "0"}
    run = subprocess.run(
        [REGFLOW, "work", "--until-idle", "--timeout", "5"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert not_json(run.stderr) == []
    warned = [json.loads(line) for line in run.stderr.splitlines() if "LEASE_SECOND" in line]
    assert [w["level"] for w in warned] == ["WARNING"]
    assert "did you mean REGFLOW_LEASE_SECONDS?" in warned[0]["message"]
