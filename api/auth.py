"""Bearer authentication: an HS256 JWT or a static API key, and the caller it names."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

import jwt
from aiohttp import web

from api.console import is_console_path
from api.errors import Unauthorized
from api.routing import Handler
from domain.limits import identity_errors, organisation_errors
from infrastructure.settings import Settings, parse_api_keys, reveal

PUBLIC_PREFIXES = ("/health/",)


@dataclass(frozen=True)
class Caller:
    """Who sent a request: their organisation and the actor recorded on events."""

    organisation_id: str
    actor: str


class Authenticator:
    """Checks bearer tokens against the JWT secret and the static keys."""

    def __init__(self, settings: Settings) -> None:
        self._secret = reveal(settings.jwt_secret)
        self._keys = parse_api_keys(reveal(settings.api_keys))

    @property
    def configured(self) -> bool:
        return bool(self._secret or self._keys)

    def caller(self, header: str | None) -> Caller:
        """The caller a token names, or Unauthorized."""
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Missing bearer token: send Authorization: Bearer <token>")
        try:
            sent = token.encode()
        except UnicodeEncodeError:  # bytes that are not UTF-8: no key or JWT is made of them
            raise Unauthorized("Invalid token") from None
        for org, key in self._keys:
            if hmac.compare_digest(sent, key.encode()):
                return Caller(org, f"key:{org}")
        if self._secret and token.count(".") == 2:
            return self._from_jwt(token, self._secret)
        raise Unauthorized("Invalid token")

    def _from_jwt(self, token: str, secret: str) -> Caller:
        try:
            claims = jwt.decode(
                token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("Token expired") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"Token lacks the {exc.claim} claim") from None
        except jwt.PyJWTError:
            raise Unauthorized("Invalid token") from None
        sub, org = claims.get("sub"), claims.get("organisation_id")
        if not isinstance(sub, str) or not isinstance(org, str):
            raise Unauthorized("Token lacks sub or organisation_id")
        errors = identity_errors(sub, "sub") + organisation_errors(org, "organisation_id")
        if errors:
            raise Unauthorized(f"Token's claims cannot be used: {'; '.join(errors)}")
        return Caller(org, f"user:{sub}")


def is_public(path: str) -> bool:
    """Health checks and the console's pages and assets need no token."""
    return path.startswith(PUBLIC_PREFIXES) or is_console_path(path)


CALLER = web.RequestKey("caller", Caller)


class TicketCheck(Protocol):
    """Who a stream ticket names, for the path it was issued for."""

    def caller(self, ticket: str, path: str) -> Caller: ...


def auth_middleware(
    authenticator: Authenticator, tickets: TicketCheck | None = None
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A middleware that stores the caller on the request, or answers 401; without an
    Authorization header, a stream ticket (`?stream_token=`) is checked for its one path."""

    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        headers = request.headers.getall("Authorization", [])
        header = headers[0] if headers else None
        if len(headers) > 1 and not is_public(request.path):
            # Which one names the caller would be a guess: the first, as read before, served
            # a request sent with two callers' keys as the first's.
            raise Unauthorized("More than one Authorization header: send one")
        if not is_public(request.path):
            ticket = request.query.get("stream_token")
            if header is None and ticket and tickets is not None:
                request[CALLER] = tickets.caller(ticket, request.path)
            else:
                request[CALLER] = authenticator.caller(header)
        elif header:
            with suppress(Unauthorized):
                request[CALLER] = authenticator.caller(header)
        return await handler(request)

    return authenticate


def caller_of(request: web.Request) -> Caller:
    """The authenticated caller of a request."""
    caller = request.get(CALLER)
    if caller is None:
        raise Unauthorized("Missing bearer token: send Authorization: Bearer <token>")
    return caller
