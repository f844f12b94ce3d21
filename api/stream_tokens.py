"""Short-lived stream tickets: EventSource cannot send an Authorization header, so a caller
who can read a batch asks for a ticket (with its bearer token) and opens the stream with
`?stream_token=`. A ticket names one stream path and one organisation, lives a minute and is
checked only when the stream opens, so a URL that leaks into a log is soon worth nothing and
never grants anything but that one read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

from aiohttp import web

from api.auth import Caller
from api.errors import Unauthorized
from domain.secrets import Declared, Sensitivity
from infrastructure.settings import Settings, reveal

TICKET_SECONDS = 60
QUERY_NAME = "stream_token"
TICKET_ANSWER: Declared = {"token": Sensitivity.PUBLIC, "url": Sensitivity.PUBLIC}
"""The ticket answer's fields: the ticket goes to the caller who asked for it, in clear (that
answer is its one way out), and the URL that carries it too."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StreamTickets:
    """Issues and checks tickets signed with a key derived from the auth configuration, so
    every API process of one deployment accepts the tickets of the others."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        material = "\0".join(
            [
                "regflow-stream-ticket",
                reveal(settings.jwt_secret) or "",
                reveal(settings.api_keys) or "",
            ]
        )
        self._key = hashlib.sha256(material.encode()).digest()
        self._clock = clock

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, caller: Caller, path: str) -> str:
        """A ticket that lets `caller` open the stream at `path` within TICKET_SECONDS."""
        claims: dict[str, str | int] = {"o": caller.organisation_id, "a": caller.actor, "p": path}
        claims["e"] = int(self._clock()) + TICKET_SECONDS
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def caller(self, ticket: str, path: str) -> Caller:
        """The caller a ticket names for `path`; Unauthorized when forged, stale or elsewhere."""
        body, _, signature = ticket.partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise Unauthorized("Invalid stream token")
        try:
            claims = json.loads(_unb64(body))
        except ValueError:
            raise Unauthorized("Invalid stream token") from None
        if claims.get("p") != path:
            raise Unauthorized("This stream token is for another stream")
        if int(claims.get("e", 0)) < self._clock():
            raise Unauthorized("Stream token expired: ask for a new one")
        return Caller(str(claims["o"]), str(claims["a"]))


TICKETS = web.AppKey("stream_tickets", StreamTickets)
