"""Inputs that used to give a 500 or an unclear answer: each now gets its documented 4xx."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from typing import Any

import pytest

from api.routes import ROUTES
from tests.api.conftest import BASE, Caller, Client, restaurant, run_job


def nested(depth: int) -> dict[str, Any]:
    """An object `depth` levels deep."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


class TestNesting:
    @pytest.mark.parametrize("depth", [33, 300, 5000])
    async def test_a_deep_execution_config_is_refused_clearly(
        self, org_a: Caller, depth: int
    ) -> None:
        config = restaurant()["execution_config"] | {"extra": "DEEP"}
        body = {"name": "deep", "restaurants": [restaurant() | {"execution_config": config}]}
        deep = '{"x":' * (depth - 2) + "{}" + "}" * (depth - 2)
        text = json.dumps(body).replace('"DEEP"', deep)
        status, answer = await org_a.post(
            BASE, data=text.encode(), headers={"Content-Type": "application/json"}
        )
        assert status in (400, 422) and answer["success"] is False
        assert any("nested" in e for e in answer["errors"]), answer

    async def test_thirty_two_levels_are_accepted(self, org_a: Caller) -> None:
        config = restaurant()["execution_config"] | {"extra": nested(31)}
        status, _ = await org_a.post(
            BASE, json={"name": "ok", "restaurants": [restaurant() | {"execution_config": config}]}
        )
        assert status == 201

    async def test_a_deep_manual_result_is_refused(self, org_a: Caller, client: Client) -> None:
        job_id = await org_a.started_job()
        run_job(client, job_id, failing={"menuImport"})
        path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport"
        edit = {"status": "completed", "reason": "by hand", "result": nested(33)}
        status, answer = await org_a.patch(path, json=edit)
        assert (status, answer["errors"]) == (
            422,
            ["menuImport.result: nested deeper than 32 levels"],
        )


class TestQueries:
    async def test_state_at_and_version_together_is_400(self, org_a: Caller) -> None:
        job_id = (await org_a.new_batch())["jobs"][0]["id"]
        params = {"at": "2026-01-01T00:00:00Z", "version": "1"}
        status, answer = await org_a.get(f"{BASE}/jobs/{job_id}/state", params=params)
        assert (status, answer["success"]) == (400, False)
        assert answer["errors"] == ["at, version: give only one of them"]


class TestBulkEdits:
    async def test_an_unknown_sub_step_is_422_with_a_per_item_error(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await org_a.started_job()
        run_job(client, job_id, failing={"menuImport"})
        updates = [
            {"sub_step": "menuImport", "status": "skipped"},
            {"sub_step": "noSuchStep", "status": "completed"},
        ]
        status, answer = await org_a.patch(
            f"{BASE}/jobs/{job_id}/steps/6/sub-steps", json={"updates": updates, "reason": "r"}
        )
        assert (status, answer["errors"]) == (422, ["updates[1]: unknown sub-step noSuchStep"])
        _, job = await org_a.get(f"{BASE}/jobs/{job_id}")
        menu = job["job"]["steps"][0]["sub_step_progress"]["phases"]["phase2"]["sub_steps"]
        assert menu["menuImport"]["status"] == "failed"


class TestConcurrentStarts:
    async def test_every_start_is_202_and_each_job_starts_once(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(*(restaurant(f"R{i}") for i in range(4)))
        path = f"{BASE}/{batch['id']}/step-6/start"
        ids = [j["id"] for j in batch["jobs"]]
        # Whole-batch starts race with starts of overlapping selections.
        bodies = [None] * 6 + [{"job_ids": ids[i : i + 2]} for i in range(3)]
        answers = await asyncio.gather(
            *(org_a.post(path, **({"json": b} if b else {})) for b in bodies)
        )
        assert [status for status, _ in answers] == [202] * len(bodies), answers
        started = [j for _, body in answers for j in body["started"]]
        assert sorted(started) == sorted(ids)


class TestHead:
    async def test_every_get_route_answers_head(self, org_a: Caller) -> None:
        gets = [r for r in ROUTES if r.method == "GET"]
        values = {
            "jobId": str(uuid.uuid4()),
            "batchId": str(uuid.uuid4()),
            "subStepKey": "menuImport",
        }
        for route in gets:
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)
            status, _ = await org_a.call("HEAD", path)
            assert status in (200, 404), (route.path, status)

    async def test_a_load_balancer_probe_of_liveness(self, client: Client) -> None:
        async with client.head("/health/live") as response:
            assert response.status == 200


class TestProtocolErrors:
    async def raw(self, client: Client, request: bytes) -> tuple[int, dict[str, Any]]:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(request)
        await writer.drain()
        data = await reader.read()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"application/json" in head, head
        return int(head.split()[1]), json.loads(body)

    async def test_an_over_long_url_gets_the_json_error_shape(
        self, client: Client, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING)
        url = "/health/live?" + "a" * 20_000
        status, body = await self.raw(client, f"GET {url} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert (status, body["success"], body["message"]) == (
            400,
            False,
            "Request line or header too long",
        )
        assert "aaaa" not in json.dumps(body)
        assert not [r for r in caplog.records if r.exc_info], "logged with a traceback"

    async def test_a_bad_content_length_gets_the_json_error_shape(
        self, client: Client, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING)
        request = (
            b"POST /api/registration-batches HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"
        )
        status, body = await self.raw(client, request)
        assert (status, body["success"], body["message"]) == (400, False, "Malformed HTTP request")
        assert body["errors"]
        assert not [r for r in caplog.records if r.exc_info], "logged with a traceback"
