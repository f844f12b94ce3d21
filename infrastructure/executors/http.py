"""The HTTP executor: calls the registration API and classifies what comes back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from domain.failures import Failure, classify_answer, classify_http, json_object
from domain.path_segments import segment_error
from domain.secrets import contains_erased
from infrastructure.errors import classify_exception
from infrastructure.executors.echoes import sent_values, without_echoes
from infrastructure.executors.port import ERASED_DATA_CALL, CallOutcome, SubStepCall

DEFAULT_MAX_CONNECTIONS = 64
# An answer whose bytes are no text in its charset: no JSON object either (so a 2xx is unknown).
UNDECODABLE = "(the answer's body is not decodable text)"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class HttpExecutor:
    """Calls the registration API through one pooled session with a connection limit."""

    def __init__(
        self,
        base_url: str,
        *,
        service_key: str | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        self.base_url = base_url.rstrip("/")
        self._service_key = service_key
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def headers_for(self, call: SubStepCall) -> dict[str, str]:
        """The headers of one call: service key, organisation, idempotency key, W3C trace."""
        headers = {
            "X-Organisation-ID": call.organisation_id,
            "Idempotency-Key": call.idempotency_key,
        }
        if self._service_key:
            headers["X-Service-Key"] = self._service_key
        if call.traceparent:
            headers["traceparent"] = call.traceparent
        return headers

    async def call(self, call: SubStepCall) -> CallOutcome:
        """POST the call; connection errors and timeouts come back as transient outcomes."""
        if contains_erased(call.payload):
            return ERASED_DATA_CALL
        try:
            path = concrete_path(call.endpoint, call.payload)
        except UnsendablePath as exc:
            return outcome_of_failure(Failure(str(exc), False))
        timeout = aiohttp.ClientTimeout(total=call.timeout)
        try:
            async with self._open_session().post(
                self.base_url + path,
                json=call.payload,
                headers=self.headers_for(call),
                timeout=timeout,
                # A redirect would resend the call (service key, password, personal data) to
                # wherever the answer points: it is classified as the API's answer instead.
                allow_redirects=False,
            ) as response:
                body = await _text_of(response)
                outcome = outcome_of(response.status, body, response.headers)
        except TimeoutError:
            message = f"Timed out after {call.timeout:g}s"
            return outcome_of_failure(Failure(message, transient=True))
        except (aiohttp.ClientError, OSError) as exc:
            return outcome_of_failure(classify_exception(exc))
        return without_echoes(outcome, sent_values(call.payload, [self._service_key or ""]))

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _text_of(response: aiohttp.ClientResponse) -> str:
    try:
        return await response.text()
    except (UnicodeDecodeError, LookupError):
        return UNDECODABLE


class UnsendablePath(ValueError):
    """A path value is missing, or no URL can carry it as the one segment naming it."""


def concrete_path(endpoint: str, payload: Mapping[str, Any]) -> str:
    """`endpoint` with each `{name}` from the payload as one percent-encoded segment."""
    for name in _PLACEHOLDER.findall(endpoint):
        value = payload.get(name)
        if value in (None, ""):
            raise UnsendablePath(f"{endpoint}: missing path value {name}")
        if error := segment_error(str(value)):
            raise UnsendablePath(f"{endpoint}: {name} {error}")
    return _PLACEHOLDER.sub(lambda m: quote(str(payload[m.group(1)]), safe=""), endpoint)


def outcome_of(status: int, body: str, headers: Mapping[str, str]) -> CallOutcome:
    """Turn an HTTP answer into an outcome: `success: true` is a result, the rest an error."""
    answer = json_object(body)
    if not 200 <= status <= 299 or answer is None:
        return outcome_of_failure(classify_http(status, body, headers))
    if answer.get("success") is True:
        result = {k: v for k, v in answer.items() if k != "success"}
        return CallOutcome(ok=True, result=result, status=status)
    if "success" not in answer:
        message = f"HTTP {status}: the answer has no success field"
        return outcome_of_failure(Failure(message, transient=False, status=status))
    return outcome_of_failure(classify_answer(answer, status=status))


def outcome_of_failure(failure: Failure) -> CallOutcome:
    """An error outcome carrying a classified failure."""
    return CallOutcome(
        ok=False,
        error=failure.message,
        transient=failure.transient,
        retry_after=failure.retry_after,
        status=failure.status,
    )
