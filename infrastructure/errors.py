"""Classifying raised errors (network, aiohttp, psycopg, sqlite, the store): transient or not."""

from __future__ import annotations

import errno
import socket
import sqlite3

import aiohttp
import psycopg
from eventsourcing import persistence as es

from domain.failures import Failure, clean_message, is_html, is_transient_status

_NETWORK_MARKERS = ("ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "ECONNREFUSED")
_GATEWAY_MARKERS = ("502:", "503:", "504:", "520:", "521:", "522:", "523:", "524:")
_TRANSIENT_ERRNOS = frozenset(
    {errno.ECONNRESET, errno.ETIMEDOUT, errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}
)
_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    aiohttp.ClientConnectionError,
    aiohttp.ClientPayloadError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    es.OperationalError,
    es.InterfaceError,
)
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})
# SQLite's result codes for a file it cannot open, read, write or lock, or that is not a
# database; its other errors (`SQLITE_ERROR`: bad SQL, a missing table) are the code's.
_UNUSABLE_SQLITE_FILE = frozenset(
    {
        "SQLITE_AUTH",
        "SQLITE_BUSY",
        "SQLITE_CANTOPEN",
        "SQLITE_CORRUPT",
        "SQLITE_FULL",
        "SQLITE_IOERR",
        "SQLITE_LOCKED",
        "SQLITE_NOTADB",
        "SQLITE_PERM",
        "SQLITE_READONLY",
    }
)


def classify_exception(exc: BaseException) -> Failure:
    """Classify a raised error: connection loss and timeouts are transient."""
    status = _status_of(exc)
    return Failure(describe_exception(exc), is_transient_exception(exc), status=status)


def describe_exception(exc: BaseException) -> str:
    """A cleaned message for `exc`; a database error is prefixed with its SQLSTATE."""
    text = str(exc).strip() or type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate and not is_html(text):
        text = f"{sqlstate}: {text}"
    return clean_message(text)


def is_transient_exception(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from, is worth another attempt."""
    if isinstance(exc, es.IntegrityError | es.ProgrammingError | es.DataError):
        return False
    current: BaseException | None = exc
    while current is not None:
        if _transient_by_kind(current):
            return True
        current = current.__cause__
    return _transient_by_text(str(exc))


def _transient_by_kind(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    status = _status_of(exc)
    return (status is not None and is_transient_status(status)) or _transient_sqlstate(exc)


def _transient_sqlstate(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    if not isinstance(sqlstate, str):
        return False
    return sqlstate.startswith("08") or sqlstate.upper() in _TRANSIENT_SQLSTATES


def _transient_by_text(text: str) -> bool:
    if is_html(text) or "cloudflare" in text.lower():
        return True
    return any(marker in text for marker in _NETWORK_MARKERS + _GATEWAY_MARKERS)


def _status_of(exc: BaseException) -> int | None:
    for name in ("status", "code"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    return None


def store_unusable(exc: BaseException) -> BaseException | None:
    """The error in `exc` or its causes saying that a store cannot be opened, reached, read or
    written (an SQLite file that is not a database or cannot be opened, a PostgreSQL server
    that refuses the connection); None when `exc` is of another kind, a programming error."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, psycopg.OperationalError):
            return current
        if isinstance(current, sqlite3.DatabaseError):
            name = str(getattr(current, "sqlite_errorname", ""))
            return current if "_".join(name.split("_")[:2]) in _UNUSABLE_SQLITE_FILE else None
        if isinstance(current, es.OperationalError) and current.__cause__ is None:
            return current  # the library's own: a pool that could not hand out a connection
        current = current.__cause__
    return None
