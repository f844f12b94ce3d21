"""Error classification and message cleaning (SPEC section 6, the seed's isTransientError)."""

from __future__ import annotations

import errno
import socket
from datetime import UTC, datetime

import aiohttp
import eventsourcing.persistence as es
import psycopg
import psycopg.errors as pg
import pytest
from aiohttp.client_reqrep import ConnectionKey

from domain.failures import (
    NO_TITLE_PAGE,
    Failure,
    classify_answer,
    classify_http,
    clean_message,
    parse_retry_after,
)
from infrastructure.errors import classify_exception

CLOUDFLARE_520 = (
    "<!DOCTYPE html><html><head>"
    "<title>api.example.com | 520: Web server is returning an unknown error</title>"
    "</head><body>" + "x" * 500 + "</body></html>"
)
CONNECTION_KEY = ConnectionKey("api.example.com", 443, True, True, None, None, None)


class WithStatus(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class WithCode(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class WithSqlstate(Exception):
    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


SEED_CASES = [
    ("empty error", Exception(""), False),
    ("Cloudflare 520 marker", Exception("520: Web server is returning an unknown error"), True),
    ("Cloudflare 502 marker", Exception("502: Bad gateway"), True),
    ("Cloudflare 503 marker", Exception("503: Service temporarily unavailable"), True),
    ("Cloudflare 504 marker", Exception("504: Gateway time-out"), True),
    ("the word cloudflare", Exception("blocked by cloudflare"), True),
    ("an HTML page", Exception(CLOUDFLARE_520), True),
    ("ECONNRESET text", Exception("read ECONNRESET"), True),
    ("ETIMEDOUT text", Exception("connect ETIMEDOUT 10.0.0.1:443"), True),
    ("ENOTFOUND text", Exception("getaddrinfo ENOTFOUND db.example.com"), True),
    ("ECONNREFUSED text", Exception("connect ECONNREFUSED 127.0.0.1:5432"), True),
    ("status 500", WithStatus("Internal error", 500), True),
    ("status 503", WithStatus("Unavailable", 503), True),
    ("code 502", WithCode("Bad gateway", 502), True),
    ("status 404", WithStatus("Not found", 404), False),
    ("a constraint violation", Exception("duplicate key value violates unique constraint"), False),
]

PYTHON_CASES = [
    ("ConnectionResetError", ConnectionResetError(errno.ECONNRESET, "reset by peer"), True),
    ("ConnectionRefusedError", ConnectionRefusedError(errno.ECONNREFUSED, "refused"), True),
    ("BrokenPipeError", BrokenPipeError(errno.EPIPE, "broken pipe"), True),
    ("TimeoutError", TimeoutError(), True),
    ("socket.gaierror (ENOTFOUND)", socket.gaierror(socket.EAI_NONAME, "Name unknown"), True),
    ("OSError ETIMEDOUT", OSError(errno.ETIMEDOUT, "timed out"), True),
    ("OSError EHOSTUNREACH", OSError(errno.EHOSTUNREACH, "no route to host"), True),
    ("OSError ENETUNREACH", OSError(errno.ENETUNREACH, "network unreachable"), True),
    ("OSError ENOENT", OSError(errno.ENOENT, "no such file"), False),
    (
        "aiohttp ClientConnectorError",
        aiohttp.ClientConnectorError(CONNECTION_KEY, OSError(111, "Connect call failed")),
        True,
    ),
    ("aiohttp ServerDisconnectedError", aiohttp.ServerDisconnectedError(), True),
    ("aiohttp ClientOSError", aiohttp.ClientOSError(errno.ECONNRESET, "reset"), True),
    ("aiohttp ServerTimeoutError", aiohttp.ServerTimeoutError("read timed out"), True),
    ("aiohttp ClientPayloadError", aiohttp.ClientPayloadError("body cut short"), True),
    ("aiohttp InvalidURL", aiohttp.InvalidURL("not a url"), False),
    ("SQLSTATE 08006 connection failure", pg.ConnectionFailure("server closed"), True),
    ("SQLSTATE 08001 by attribute", WithSqlstate("cannot connect", "08001"), True),
    ("SQLSTATE 40001 serialization", pg.SerializationFailure("could not serialize"), True),
    ("SQLSTATE 40P01 deadlock", WithSqlstate("deadlock detected", "40P01"), True),
    ("SQLSTATE 57P01 admin shutdown", pg.AdminShutdown("terminating connection"), True),
    ("SQLSTATE 57P02 crash shutdown", WithSqlstate("crash shutdown", "57P02"), True),
    ("SQLSTATE 57P03 cannot connect now", WithSqlstate("starting up", "57P03"), True),
    ("SQLSTATE 23505 unique violation", pg.UniqueViolation("duplicate key"), False),
    ("SQLSTATE 42P01 undefined table", WithSqlstate("no such relation", "42P01"), False),
    ("psycopg OperationalError", psycopg.OperationalError("connection lost"), True),
    ("psycopg InterfaceError", psycopg.InterfaceError("connection is closed"), True),
    ("eventsourcing OperationalError", es.OperationalError("lost"), True),
    ("eventsourcing IntegrityError", es.IntegrityError("version conflict"), False),
    (
        "wrapped connection loss",
        chained(es.PersistenceError("save failed"), ConnectionResetError()),
        True,
    ),
    ("ValueError", ValueError("bad restaurant name"), False),
    ("KeyError", KeyError("menuId"), False),
]


class TestClassifyException:
    @pytest.mark.parametrize(
        ("exc", "transient"),
        [case[1:] for case in SEED_CASES + PYTHON_CASES],
        ids=[case[0] for case in SEED_CASES + PYTHON_CASES],
    )
    def test_transient_or_permanent(self, exc: BaseException, transient: bool) -> None:
        assert classify_exception(exc).transient is transient

    def test_cloudflare_page_becomes_a_short_message(self) -> None:
        failure = classify_exception(Exception(CLOUDFLARE_520))
        assert failure.message == "Cloudflare: 520: Web server is returning an unknown error"

    def test_database_error_is_prefixed_with_its_sqlstate(self) -> None:
        assert classify_exception(pg.AdminShutdown("terminating")).message == "57P01: terminating"

    def test_silent_error_is_named_by_its_class(self) -> None:
        assert classify_exception(TimeoutError()).message == "TimeoutError"

    def test_status_is_kept(self) -> None:
        assert classify_exception(WithStatus("Unavailable", 503)).status == 503


class TestCleanMessage:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (CLOUDFLARE_520, "Cloudflare: 520: Web server is returning an unknown error"),
            ("<!DOCTYPE html><title>Bad gateway</title>", "Cloudflare: Bad gateway"),
            ("<!DOCTYPE html><title>a |  </title>", "Cloudflare: a |"),
            ("<html><title>x &amp; y | Origin down</title></html>", "Cloudflare: Origin down"),
            ("<!DOCTYPE html><body>oops</body>", NO_TITLE_PAGE),
            ("plain words", "plain words"),
            ("two\n  lines", "two lines"),
            ("", "Unknown error"),
            ("a" * 200, "a" * 200),
            ("a" * 201, "a" * 200 + "..."),
        ],
    )
    def test_cleans(self, text: str, expected: str) -> None:
        assert clean_message(text) == expected


class TestClassifyHttp:
    @pytest.mark.parametrize(
        ("status", "transient"),
        [(408, True), (425, True), (429, True), (500, True), (503, True), (599, True)]
        + [(400, False), (401, False), (404, False), (409, False), (422, False)],
    )
    def test_status_decides(self, status: int, transient: bool) -> None:
        assert classify_http(status, "", {}).transient is transient

    @pytest.mark.parametrize("status", [520, 521, 522, 523, 524])
    def test_cloudflare_pages_are_transient(self, status: int) -> None:
        failure = classify_http(status, CLOUDFLARE_520, {})
        assert failure == Failure(
            "Cloudflare: 520: Web server is returning an unknown error", True, None, status
        )

    def test_html_instead_of_json_on_2xx_is_transient(self) -> None:
        assert classify_http(200, CLOUDFLARE_520, {}).transient is True

    def test_json_message_is_used(self) -> None:
        body = '{"success": false, "message": "email is invalid"}'
        assert classify_http(400, body, {}).message == "HTTP 400: email is invalid"

    def test_empty_body_names_the_status(self) -> None:
        assert classify_http(503, "", {}).message == "HTTP 503"

    def test_retry_after_seconds(self) -> None:
        assert classify_http(429, "", {"retry-after": "7"}).retry_after == 7.0

    def test_retry_after_http_date(self) -> None:
        now = datetime(2024, 12, 30, 12, 0, 0, tzinfo=UTC)
        headers = {"Retry-After": "Mon, 30 Dec 2024 12:00:30 GMT"}
        assert classify_http(503, "", headers, now=now).retry_after == 30.0


class TestParseRetryAfter:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(None, None), ("", None), ("soon", None), ("-3", 0.0), ("1.5", 1.5), ("inf", None)],
    )
    def test_values(self, value: str | None, expected: float | None) -> None:
        assert parse_retry_after(value) == expected

    def test_date_in_the_past_means_now(self) -> None:
        now = datetime(2024, 12, 30, 12, 0, 0, tzinfo=UTC)
        assert parse_retry_after("Mon, 30 Dec 2024 11:00:00 GMT", now) == 0.0


class TestClassifyAnswer:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"success": False, "message": "Menu not found"}, "Menu not found"),
            ({"success": False, "error": "Account exists"}, "Account exists"),
            ({"success": False, "error": {"message": "Nested"}}, "Nested"),
            ({"success": False}, "The registration API answered success: false"),
        ],
    )
    def test_refusals_are_permanent(self, body: dict[str, object], message: str) -> None:
        assert classify_answer(body) == Failure(message, transient=False)
