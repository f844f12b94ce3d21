"""`regflow serve`: the HTTP API, the engine and the read models, by role."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from pathlib import Path

import uvloop
from aiohttp import web

from api.cli.commands import Command, arg
from api.cli.values import port_number
from api.runtime import build_app
from infrastructure.listening import listening_socket
from infrastructure.logs import announce, configure_logging_first
from infrastructure.persistence import require_key_file
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

log = logging.getLogger("regflow.serve")


def configured(args: argparse.Namespace) -> tuple[Settings, str | None]:
    """Settings with the command line's overrides, and a development key when auth is unset."""
    settings = Settings()
    overrides = {k: getattr(args, k) for k in ("host", "port", "role") if getattr(args, k)}
    dev_key = None
    require_key_file(settings)  # a store it cannot open gets no development API key either
    if not settings.jwt_secret and not settings.api_keys:
        dev_key = development_key(settings)
        overrides["api_keys"] = f"{settings.default_org}:{dev_key}"
    return Settings.model_validate(settings.model_dump() | overrides), dev_key


def dev_key_file(settings: Settings) -> Path:
    """Where the development API key is kept: beside the SQLite file, like the secret key."""
    if settings.is_postgres or settings.sqlite_path in ("", ":memory:"):
        return Path(".regflow-api-key").resolve()
    return Path(settings.sqlite_path).resolve().with_suffix(".api-key")


def development_key(settings: Settings) -> str:
    """The development API key, made once and kept, so a restart does not sign everyone out."""
    path = dev_key_file(settings)
    if settings.sqlite_path == ":memory:":
        return secrets.token_urlsafe(24)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept = path.read_text(encoding="utf-8").strip()
        if kept:
            return kept
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    key = secrets.token_urlsafe(24)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def serve_command(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    configure_logging_first()  # so that a refusal, of a setting too, is said as the log says
    settings, dev_key = configured(args)
    if settings.role in ("all", "worker"):
        settings.require_registration_api()  # before the address is taken, as other settings
    sock = listening_socket(
        settings.host, settings.port, "--host and --port (REGFLOW_HOST, REGFLOW_PORT)"
    )
    with sock:  # given back however the start ends (a refused setting, a wrong passphrase)
        if not settings.secret_key:
            log.warning(
                "REGFLOW_SECRET_KEY is unset; secrets at rest use a development key "
                "kept beside the data. Set it in production."
            )
        Registrations(settings).close()  # a wrong passphrase is a clear error now
        if dev_key:
            announce_key(settings, dev_key)
        url = f"http://{settings.host}:{sock.getsockname()[1]}"
        web.run_app(
            build_app(settings),
            sock=sock,
            print=lambda _: announce(f"regflow {settings.role} listening on {url}", url=url),
            access_log=None,
            loop=uvloop.new_event_loop(),
        )
    return 0


def announce_key(settings: Settings, key: str) -> None:
    """The development API key, its organisation, and how to send it."""
    org, kept = settings.default_org, dev_key_file(settings)
    announce(
        f"development API key (organisation '{org}', kept in {kept}):\n"
        f"  {key}\n"
        f"  send: Authorization: Bearer {key}",
        api_key=key,
        organisation=org,
        kept_in=str(kept),
    )


COMMANDS = (
    Command(
        "serve",
        "serve the HTTP API (and run the engine)",
        serve_command,
        runs_until_stopped=True,
        writes_log=True,
        arguments=(
            arg("--host", help="address to listen on (REGFLOW_HOST)"),
            arg("--port", type=port_number, help="port to listen on (REGFLOW_PORT)"),
            arg("--role", choices=("all", "api", "worker"), help="REGFLOW_ROLE"),
        ),
    ),
)
