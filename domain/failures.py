"""Classifying the registration API's answers: transient or permanent, with a clean message."""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from domain.secret_words import scrub_text

MAX_MESSAGE_LENGTH = 200
TRANSIENT_STATUSES = frozenset({408, 425, 429})
NO_TITLE_PAGE = "Cloudflare connection error (HTML response received)"

_TITLE = re.compile(r"<title[^>]*>([^<]+)</title>", re.IGNORECASE)
_HTML_MARKERS = ("<!doctype html", "<html")


@dataclass(frozen=True)
class Failure:
    """A classified error: its cleaned message and whether trying again may help."""

    message: str
    transient: bool
    retry_after: float | None = None
    status: int | None = None


def is_html(text: str) -> bool:
    """Whether `text` is (or embeds) an HTML page, as proxies like Cloudflare send."""
    lowered = text.lower()
    return any(marker in lowered for marker in _HTML_MARKERS)


def clean_message(text: str) -> str:
    """A one-line message: an HTML page becomes `Cloudflare: <title>`, embedded credentials
    are masked, long text is cut."""
    if is_html(text):
        return _page_summary(text)
    flat = " ".join(scrub_text(text).split())
    if not flat:
        return "Unknown error"
    if len(flat) > MAX_MESSAGE_LENGTH:
        return flat[:MAX_MESSAGE_LENGTH] + "..."
    return flat


def _page_summary(page: str) -> str:
    match = _TITLE.search(page)
    if match is None:
        return NO_TITLE_PAGE
    title = " ".join(html.unescape(match.group(1)).split())
    parts = title.split("|")
    detail = parts[1].strip() if len(parts) > 1 else ""
    return clean_message(f"Cloudflare: {detail or title}")


def is_transient_status(status: int) -> bool:
    """HTTP 408, 425, 429 and every 5xx are worth another attempt."""
    return status in TRANSIENT_STATUSES or 500 <= status <= 599


def is_redirect(status: int) -> bool:
    """A 3xx: the registration API's own answer, never followed (the call, its service key and
    its personal data go to the configured API only), so the call was not carried out there."""
    return 300 <= status <= 399


def classify_http(
    status: int, body: str, headers: Mapping[str, str], *, now: datetime | None = None
) -> Failure:
    """Classify an answer that is not a readable `success: true`, by status and body.

    A 2xx whose body is no JSON object (an HTML page, a cut-off or empty body, a list) is
    transient: the API may have done the work, so the outcome is unknown and keeps its key.
    A redirect is permanent: it was not followed, so nothing was done."""
    if is_redirect(status):
        return Failure(_redirect_message(status, headers), transient=False, status=status)
    unreadable = 200 <= status <= 299 and json_object(body) is None
    transient = is_transient_status(status) or unreadable
    retry_after = parse_retry_after(_header(headers, "Retry-After"), now)
    return Failure(_http_message(status, body, unreadable), transient, retry_after, status)


def _http_message(status: int, body: str, unreadable: bool = False) -> str:
    if is_html(body):
        return clean_message(body)
    text = _json_message(body) or body
    if unreadable:
        text = f"unreadable answer, outcome unknown: {text}" if text.strip() else "empty answer"
    return clean_message(f"HTTP {status}: {text}" if text.strip() else f"HTTP {status}")


def _redirect_message(status: int, headers: Mapping[str, str]) -> str:
    said = f"HTTP {status}: the registration API answered with a redirect, which was not followed"
    host = _host_of(_header(headers, "Location"))
    return clean_message(f"{said} (to {host})" if host else said)


def _host_of(location: str | None) -> str | None:
    """Only the host a redirect points at: its user part, path and query may hold credentials."""
    try:
        return urlsplit((location or "").strip()).hostname or None
    except ValueError:
        return None


def json_object(body: str) -> dict[str, Any] | None:
    """The answer's JSON object, or None when the body is no JSON or JSON of another kind."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _json_message(body: str) -> str | None:
    decoded = json_object(body)
    return _message_field(decoded) if decoded is not None else None


def _message_field(answer: Mapping[str, Any]) -> str | None:
    for name in ("message", "error"):
        value = answer.get(name)
        if isinstance(value, Mapping):
            value = value.get("message")
        if isinstance(value, str) and value.strip():
            return value
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return _seconds_until(value, now)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _seconds_until(http_date: str, now: datetime | None) -> float | None:
    try:
        moment = parsedate_to_datetime(http_date.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max((moment - reference).total_seconds(), 0.0)


def classify_answer(body: Mapping[str, Any], *, status: int | None = None) -> Failure:
    """Classify a 2xx answer that says `success: false`: the API refused, permanently."""
    message = _message_field(body) or "The registration API answered success: false"
    return Failure(clean_message(message), transient=False, status=status)


def is_over_capacity(status: int | None, retry_after: float | None) -> bool:
    """A 429, or a 503 that says when to come back: the API is up but full, not failing."""
    return status == 429 or (status == 503 and retry_after is not None)
