"""`regflow serve`: the HTTP API, the engine and the read models, by role."""

from __future__ import annotations

import argparse
import logging
import secrets
import sys

import uvloop
from aiohttp import web

from api.runtime import build_app
from infrastructure.log_scrub import scrub_log_handlers
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

DEV_ORGANISATION = "dev"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `serve`."""
    serve = commands.add_parser("serve", help="serve the HTTP API (and run the engine)")
    serve.add_argument("--host", help="address to listen on (REGFLOW_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (REGFLOW_PORT)")
    serve.add_argument("--role", choices=("all", "api", "worker"), help="REGFLOW_ROLE")
    serve.set_defaults(handler=serve_command)


def configured(args: argparse.Namespace) -> tuple[Settings, str | None]:
    """Settings with the command line's overrides, and a development key when auth is unset."""
    settings = Settings()
    overrides = {k: getattr(args, k) for k in ("host", "port", "role") if getattr(args, k)}
    dev_key = None
    if not settings.jwt_secret and not settings.api_keys:
        dev_key = secrets.token_urlsafe(24)
        overrides["api_keys"] = f"{DEV_ORGANISATION}:{dev_key}"
    return Settings.model_validate(settings.model_dump() | overrides), dev_key


def serve_command(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    scrub_log_handlers()
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    settings, dev_key = configured(args)
    if not settings.secret_key:
        print(
            "warning: REGFLOW_SECRET_KEY is unset; secrets at rest use a development key "
            "kept beside the data. Set it in production.",
            file=sys.stderr,
        )
    Registrations(settings).close()  # a wrong passphrase is a clear error now, not on first read
    if dev_key:
        print(f"development API key (organisation '{DEV_ORGANISATION}'): {dev_key}")
        print(f"  send: Authorization: Bearer {dev_key}")
    url = f"http://{settings.host}:{settings.port}"
    web.run_app(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda _: print(f"regflow {settings.role} listening on {url}", flush=True),
        access_log=None,
        loop=uvloop.new_event_loop(),
    )
    return 0
