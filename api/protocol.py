"""aiohttp's own protocol errors answered in the API's JSON error shape, logged on one line.

aiohttp's low-level parser (an over-long request line or header, a bad `Content-Length`,
garbage instead of HTTP) answers before any middleware runs, through
`RequestHandler.handle_error`, with a text/plain body and an ERROR log carrying a traceback.
aiohttp offers no setting for the request handler's class: `Server` builds a
`RequestHandler` by the name its module holds, so `install()` points that name at
`JsonErrorRequestHandler`, once per process. Every server of the process (the API and the
embedded simulator) then answers protocol errors as `{"success": false, ...}`.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from aiohttp import web, web_protocol, web_server
from aiohttp.http_exceptions import (
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
)
from aiohttp.web_protocol import RequestPayloadError
from aiohttp.web_request import BaseRequest

log = logging.getLogger("regflow.api")
MAX_DETAIL = 200
HTTPS_ON_HTTP = "Received HTTPS traffic on an HTTP port"


# Errors whose message quotes what was sent (a header line, the URL, the request line): said
# in these words instead. A header may carry a credential, a URL a token.
QUOTING: tuple[tuple[type[HttpProcessingError], str], ...] = (
    (InvalidHeader, "a header is not valid HTTP"),
    (InvalidURLError, "the URL is not valid"),
    (BadStatusLine, "the request line is not valid HTTP"),
)


def describe(status: int, exc: BaseException | None) -> tuple[str, list[str]]:
    """The message and errors for a refused request, without echoing what was sent: the
    parser's own words for what is wrong (its first line: the quote of the bytes follows), or,
    for an error whose words quote the request, a description of its kind."""
    if isinstance(exc, LineTooLong):
        return "Request line or header too long", ["the URL or a header exceeds the limit"]
    if isinstance(exc, HttpProcessingError):
        return "Malformed HTTP request", [_detail(exc)]
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return phrase, [phrase]


def _detail(exc: HttpProcessingError) -> str:
    message = str(exc.message or "")
    if message == HTTPS_ON_HTTP:
        return message
    quoting = next((words for kind, words in QUOTING if isinstance(exc, kind)), None)
    if quoting is not None:
        return quoting
    # The parser's description, then (after a colon and a blank line) the bytes it stopped at.
    first = message.split("\n", 1)[0].rstrip().removesuffix(":")
    return first[:MAX_DETAIL] or "malformed request"


class JsonErrorRequestHandler(web_protocol.RequestHandler):
    """A request handler whose error answers are the API's JSON shape."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:
            return self._server_error(request, status, exc, message)
        text, errors = describe(status, exc)
        log.warning("refused a malformed request from %s: %s", request.remote, errors[0])
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send the error answer")
        body = {"success": False, "message": text, "errors": errors}
        response = web.Response(
            status=status, text=json.dumps(body), content_type="application/json"
        )
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """One line, not aiohttp's "Unhandled exception" traceback, for a body that cannot be
        decoded (bad gzip): the server meets it again reading what is left of the body after
        the answer (400, or a handler's that never read it), and closes the connection."""
        if isinstance(kw.get("exc_info"), RequestPayloadError):
            log.warning("closed a connection whose request body cannot be decoded")
            return
        super().log_exception(*args, **kw)

    def _server_error(
        self, request: BaseRequest, status: int, exc: BaseException | None, message: str | None
    ) -> web.StreamResponse:
        original = super().handle_error(request, status, exc, message)
        text, errors = describe(status, None)
        body = {"success": False, "message": text, "errors": errors}
        response = web.Response(
            status=original.status, text=json.dumps(body), content_type="application/json"
        )
        response.force_close()
        return response


def install() -> None:
    """Make every aiohttp server of this process build JsonErrorRequestHandler."""
    web_server.RequestHandler = JsonErrorRequestHandler  # type: ignore[misc]
