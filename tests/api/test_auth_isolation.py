"""Authentication and organisation isolation: org B sees nothing of org A."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import jwt

from tests.api.conftest import BASE, JWT_SECRET, Caller, Client


def token(org: str, sub: str = "u-1", expires_in: float = 300, secret: str = JWT_SECRET) -> str:
    claims = {"sub": sub, "organisation_id": org, "exp": int(time.time() + expires_in)}
    return jwt.encode(claims, secret, algorithm="HS256")


async def raw_get(caller: Caller, path: str, authorizations: list[str]) -> tuple[int, bytes]:
    """GET `path` sending each of `authorizations` as an Authorization header of its own (the
    client library keeps only the last of headers sent under one name)."""
    server = caller.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    lines = [f"GET {path} HTTP/1.1", f"Host: {server.host}", "Connection: close"]
    lines += [f"Authorization: {value}" for value in authorizations]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


class TestAuthentication:
    async def test_missing_token_is_401(self, client: Client) -> None:
        async with client.get(BASE) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert (await response.json())["success"] is False

    async def test_unknown_key_is_401(self, org_a: Caller) -> None:
        status, body = await org_a.get(BASE, headers={"Authorization": "Bearer nope"})
        assert (status, body["message"]) == (401, "Invalid token")

    async def test_expired_jwt_is_401(self, org_a: Caller) -> None:
        bearer = {"Authorization": f"Bearer {token(org_a.org, expires_in=-60)}"}
        status, body = await org_a.get(BASE, headers=bearer)
        assert (status, body["message"]) == (401, "Token expired")

    async def test_jwt_of_another_secret_is_401(self, org_a: Caller) -> None:
        bearer = {"Authorization": f"Bearer {token(org_a.org, secret='x' * 40)}"}
        status, _ = await org_a.get(BASE, headers=bearer)
        assert status == 401

    async def test_jwt_caller_is_recorded_as_user(self, org_a: Caller) -> None:
        bearer = {"Authorization": f"Bearer {token(org_a.org, sub='u-42')}"}
        status, body = await org_a.post(
            BASE, headers=bearer, json={"name": "n", "restaurants": [{"name": "A"}]}
        )
        assert status == 201
        job_id = body["batch"]["jobs"][0]["id"]
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        assert events["events"][0]["actor"] == "user:u-42"

    async def test_static_key_caller_is_recorded_as_key(self, org_a: Caller) -> None:
        job_id = (await org_a.new_batch())["jobs"][0]["id"]
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        assert events["events"][0]["actor"] == f"key:{org_a.org}"

    async def test_two_authorization_headers_are_401_whichever_comes_first(
        self, org_a: Caller, org_b: Caller
    ) -> None:
        keys = [f"Bearer {org_a.key}", f"Bearer {org_b.key}", "Bearer junk"]
        for first, second in [(a, b) for a in keys for b in keys if a != b]:
            status, body = await raw_get(org_a, BASE, [first, second])
            assert status == 401
            assert json.loads(body)["message"] == "More than one Authorization header: send one"

    async def test_health_needs_no_token(self, client: Client) -> None:
        async with client.get("/health/live") as response:
            assert response.status == 200


class TestIsolation:
    async def test_b_cannot_read_or_list_a(self, org_a: Caller, org_b: Caller) -> None:
        batch = await org_a.new_batch()
        job_id = batch["jobs"][0]["id"]
        for path in (
            f"{BASE}/{batch['id']}",
            f"{BASE}/{batch['id']}/progress",
            f"{BASE}/jobs/{job_id}",
            f"{BASE}/jobs/{job_id}/events",
            f"{BASE}/jobs/{job_id}/state",
            f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport/validation",
        ):
            status, body = await org_b.get(path)
            assert (path, status, body["success"]) == (path, 404, False)
        _, listed = await org_b.get(BASE)
        assert batch["id"] not in {b["id"] for b in listed["batches"]}

    async def test_b_cannot_change_a(self, org_a: Caller, org_b: Caller) -> None:
        batch = await org_a.new_batch()
        job_id = batch["jobs"][0]["id"]
        edit = {"status": "skipped", "reason": "r"}
        attempts = [
            ("POST", f"{BASE}/{batch['id']}/step-6/start", None),
            ("POST", f"{BASE}/jobs/{job_id}/resume-step-6", None),
            ("POST", f"{BASE}/jobs/{job_id}/cancel", None),
            ("PATCH", f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport", edit),
            (
                "PATCH",
                f"{BASE}/jobs/{job_id}/steps/6/sub-steps",
                {"updates": [edit | {"sub_step": "menuImport"}]},
            ),
            ("POST", f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport/reset", {"reason": "r"}),
            ("POST", f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport/retry-now", None),
        ]
        for method, path, body in attempts:
            status, _ = await org_b.call(method, path, json=body)
            assert (path, status) == (path, 404)
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        assert [e["type"] for e in events["events"]] == ["JobCreated"]

    async def test_unknown_ids_look_the_same_as_foreign_ones(
        self, org_a: Caller, org_b: Caller
    ) -> None:
        job_id = (await org_a.new_batch())["jobs"][0]["id"]
        _, foreign = await org_b.get(f"{BASE}/jobs/{job_id}")
        _, unknown = await org_b.get(f"{BASE}/jobs/{uuid.uuid4()}")
        assert (
            foreign["message"].split(":")[0] == unknown["message"].split(":")[0] == "Job not found"
        )
