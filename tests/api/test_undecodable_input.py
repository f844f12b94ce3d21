"""Bytes that do not decode as they claim: a body whose Content-Encoding it does not have, and
header values that are not UTF-8 (a bearer token, an Idempotency-Key). Each is refused with
the 4xx that says so, having changed nothing; none is answered 500."""

from __future__ import annotations

import gzip
import json
import logging
from typing import Any

import pytest

from tests.api.conftest import BASE, Caller, Client
from tests.api.test_protocol_errors import answer

NOT_AS_SAID = {
    "not gzip": b'{"status": "failed", "reason": "r"}',
    "gzip cut short": gzip.compress(b'{"status": "failed", "reason": "r"}')[:12],
    "gzip then garbage": gzip.compress(b"{}") + b"\x00garbage",
}


async def bodies(org_a: Caller) -> list[tuple[str, str, str]]:
    """(method, path, Content-Type) of every request that takes a body."""
    batch = await org_a.new_batch()
    job = batch["jobs"][0]["id"]
    sub_steps = f"{BASE}/jobs/{job}/steps/6/sub-steps"
    return [
        ("POST", BASE, "application/json"),
        ("POST", f"{BASE}?name=x", "text/csv"),
        ("PATCH", f"{sub_steps}/itemTags", "application/json"),
        ("PATCH", sub_steps, "application/json"),
        ("POST", f"{sub_steps}/itemTags/reset", "application/json"),
        ("POST", f"{BASE}/jobs/{job}/resume-step-6", "application/json"),
    ]


async def recorded(org_a: Caller) -> tuple[int, Any]:
    """How many batches the organisation has, and its newest one's id."""
    _, listed = await org_a.get(BASE)
    return len(listed["batches"]), listed["batches"][0]["id"] if listed["batches"] else None


@pytest.mark.parametrize("sent", NOT_AS_SAID.values(), ids=NOT_AS_SAID.keys())
async def test_a_body_that_is_not_what_its_content_encoding_says_is_400(
    client: Client, org_a: Caller, sent: bytes
) -> None:
    """Sent on a connection of its own: the server closes it after refusing the body."""
    targets = await bodies(org_a)
    before = await recorded(org_a)
    auth = f"Authorization: Bearer {org_a.key}".encode()
    for method, path, content_type in targets:
        headers = (auth, b"Content-Encoding: gzip", f"Content-Type: {content_type}".encode())
        request = raw_request(path, *headers, body=sent, method=method)
        head, body = await answer(client, request)
        status = head.split(b" ", 2)[1]
        if sent == NOT_AS_SAID["not gzip"]:
            assert status == b"400", (method, path, head, body)
            assert body["errors"] == ["body: not gzip"]
        else:  # what decodes of it, cut short or followed by bytes, is refused as what it is
            assert status in (b"400", b"422"), (method, path, head, body)
        assert body["success"] is False
    assert await recorded(org_a) == before


@pytest.mark.parametrize("sent", NOT_AS_SAID.values(), ids=NOT_AS_SAID.keys())
async def test_a_body_that_cannot_be_decoded_is_logged_in_one_line_without_a_traceback(
    client: Client, org_a: Caller, sent: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """On every endpoint taking a body, and on one that never reads it (GET): after the
    answer the server reads what is left of the body, meets the error again and closes the
    connection. That is logged as one warning, never as an unhandled exception."""
    targets = [*await bodies(org_a), ("GET", f"{BASE}", "application/json")]
    auth = f"Authorization: Bearer {org_a.key}".encode()
    caplog.set_level(logging.INFO)
    for method, path, content_type in targets:
        headers = (auth, b"Content-Encoding: gzip", f"Content-Type: {content_type}".encode())
        head, _ = await answer(client, raw_request(path, *headers, body=sent, method=method))
        assert head.split(b" ", 2)[1] in (b"200", b"400", b"422"), (method, path, head)
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == [], [(r.name, r.getMessage()) for r in tracebacks]


def raw_request(path: str, *headers: bytes, body: bytes = b"", method: str = "") -> bytes:
    """A request as bytes: GET without a body, POST (or `method`) with one."""
    lines = [b"Host: x", b"Connection: close", *headers]
    if body:
        if not any(h.lower().startswith(b"content-type:") for h in headers):
            lines.append(b"Content-Type: application/json")
        lines.append(b"Content-Length: %d" % len(body))
    verb = (method or ("POST" if body else "GET")).encode()
    head = verb + b" " + path.encode() + b" HTTP/1.1\r\n"
    return head + b"".join(line + b"\r\n" for line in lines) + b"\r\n" + body


# Bytes no UTF-8 decoder takes: a lone high byte, a cut sequence, an overlong form, a
# surrogate's encoding, a lone continuation byte; alone, inside a key, and shaped as a JWT.
NOT_UTF8 = [b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80"]
TOKENS = [
    *NOT_UTF8,
    *(b"dev" + junk + b"key" for junk in NOT_UTF8),
    *(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0." + junk for junk in NOT_UTF8),
    b"a.b.\xff",
]


@pytest.mark.parametrize("token", TOKENS, ids=[t.hex() for t in TOKENS])
async def test_a_bearer_token_that_is_not_utf8_is_401(
    client: Client, org_a: Caller, token: bytes
) -> None:
    for path in (BASE, f"{BASE}/jobs/00000000-0000-4000-8000-000000000000"):
        head, body = await answer(client, raw_request(path, b"Authorization: Bearer " + token))
        assert head.split(b" ", 2)[1] == b"401", (token, head, body)
        assert body["message"] == "Invalid token"


async def test_an_idempotency_key_that_is_not_utf8_is_refused_and_records_nothing(
    client: Client, org_a: Caller
) -> None:
    before = await recorded(org_a)
    batch = json.dumps({"name": "n", "restaurants": [{"name": "R"}]}).encode()
    auth = f"Authorization: Bearer {org_a.key}".encode()
    head, body = await answer(
        client, raw_request(BASE, auth, b"Idempotency-Key: k\xff\xfe", body=batch)
    )
    status = head.split(b" ", 2)[1]
    assert status in (b"400", b"422"), (head, body)
    assert await recorded(org_a) == before
