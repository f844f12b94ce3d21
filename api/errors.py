"""The one error middleware: every refusal and failure answers `{"success": false, ...}`."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from eventsourcing.persistence import IntegrityError
from pydantic import ValidationError

from api.routing import Handler, route_template
from domain.exceptions import (
    EditRejected,
    IllegalTransition,
    InvalidInput,
    JobChanged,
    JobConflict,
    JobIsRunning,
    NotFound,
    NothingToResume,
    RegflowError,
    SubStepInFlight,
)
from domain.field_paths import field_path
from domain.secret_words import mask_credentials, scrub_text
from infrastructure.chain.unreadable import FIND_TAMPERING, unreadable_log
from infrastructure.errors import is_transient_exception
from infrastructure.keys.ring import WrongPassphrase

log = logging.getLogger("regflow.api")

STATUS_OF: tuple[tuple[type[RegflowError], int], ...] = (
    (NotFound, 404),
    (JobIsRunning, 409),
    (JobConflict, 409),
    (JobChanged, 412),
    (IllegalTransition, 409),
    (SubStepInFlight, 409),
    (NothingToResume, 400),
    (EditRejected, 422),
    (InvalidInput, 422),
    # This process's passphrase was rotated away: the server's state, not the request's.
    (WrongPassphrase, 503),
)


class BadRequest(RegflowError):
    """A request that cannot be read: malformed JSON or bad query parameters."""


class Unauthorized(RegflowError):
    """No valid credentials."""


class BodyTooLarge(RegflowError):
    """A request body over its limit: the answer names the limit and the setting that sets it."""

    def __init__(self, limit: int, setting: str) -> None:
        message = f"Request body too large: the limit is {limit:,} bytes (set by {setting})"
        super().__init__(message)


class UnsupportedMediaType(RegflowError):
    """A body sent as a media type the endpoint does not read: the answer names those it does
    (also in the `Accept` header, as RFC 9110 suggests for 415)."""

    def __init__(self, problem: str, accepted: tuple[str, ...]) -> None:
        named = ", ".join(accepted)
        super().__init__(
            f"Unsupported Media Type: send the body as {named}", [f"Content-Type: {problem}"]
        )
        self.accepted = accepted


class NotReady(RegflowError):
    """A dependency of the service is not available yet."""


class Busy(RegflowError):
    """This process sheds load: the request was refused before it did anything; the client
    tries again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def busy_answer(exc: Busy) -> web.Response:
    """`503` with `Retry-After`, as every refusal of a busy process answers."""
    response = failure(503, exc.message)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def field_errors(exc: ValidationError, whole: str = "body") -> list[str]:
    """One `field[0].path: message` per pydantic error; an error of the document as a whole
    (not JSON) is said of `whole`. A message that quotes what was sent (a query parameter's
    validator's: `not a whole number: '...'`) is masked as every shown text is."""
    return [f"{field_path(e['loc']) or whole}: {scrub_text(e['msg'])}" for e in exc.errors()]


def failure(status: int, message: str, errors: list[str] | None = None) -> web.Response:
    """The error answer shape, every credential in its texts masked: a refusal may quote what
    was sent (an id, a parameter, an Idempotency-Key), and what was sent may be a token. (A
    value given to a secret's name, `password=...`, is masked where a refusal quotes what was
    sent: here `field: message` would read as one.)"""
    shown = mask_credentials(message)
    body = {
        "success": False,
        "message": shown,
        "errors": [mask_credentials(e) for e in errors] if errors else [shown],
    }
    return web.json_response(body, status=status)


def status_of(exc: RegflowError) -> int:
    """The HTTP status of a named error."""
    special = {
        BadRequest: 400,
        Unauthorized: 401,
        NotReady: 503,
        BodyTooLarge: 413,
        UnsupportedMediaType: 415,
    }
    if type(exc) in special:
        return special[type(exc)]
    return next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 422)


def _from_http(exc: web.HTTPException, request: web.Request) -> web.Response:
    if exc.status == 413:
        message = BodyTooLarge(request.client_max_size, "REGFLOW_MAX_BODY_BYTES").message
    elif exc.status == 404:
        message = "Not found"
    else:
        message = exc.reason
    response = failure(exc.status, message, [message])
    if "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map named errors, validation errors and HTTP errors to the error shape."""
    try:
        return await handler(request)
    except Busy as exc:
        return busy_answer(exc)
    except RegflowError as exc:
        response = failure(status_of(exc), exc.message, exc.errors)
        if isinstance(exc, Unauthorized):
            response.headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, UnsupportedMediaType):
            response.headers["Accept"] = ", ".join(exc.accepted)
        return response
    except ValidationError as exc:
        return failure(422, "Invalid request", field_errors(exc))
    except IntegrityError:
        return failure(409, "The job was changed by another writer; try again")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http(exc, request)
    except json.JSONDecodeError:
        return failure(400, "Malformed JSON")
    except Exception as exc:
        if (tampered := unreadable_log(exc)) is not None:
            # The job's stored events were changed by hand: the server's data, not the request.
            log.error("%s %s: %s", request.method, route_template(request), tampered)
            return failure(503, f"{tampered}; {FIND_TAMPERING}")
        if is_transient_exception(exc):
            log.warning("storage unavailable answering %s: %s", route_template(request), exc)
            response = failure(503, "Storage unavailable; try again shortly")
            response.headers["Retry-After"] = "2"
            return response
        log.exception("unexpected error answering %s %s", request.method, route_template(request))
        return failure(500, "Internal server error")
