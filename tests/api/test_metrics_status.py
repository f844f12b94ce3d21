"""`regflow_http_requests_total` counts each answer under the status it was sent with: static
files (found, missing, not modified, a range), errors raised by the router or a handler, and
streamed answers."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.api.conftest import BASE, Caller, Client, restaurant

ASSET = "/static/js/main.js"


def counted(method: str, route: str, status: int) -> float:
    labels = {"method": method, "route": route, "status": str(status)}
    return REGISTRY.get_sample_value("regflow_http_requests_total", labels) or 0.0


# (method, path, headers, the status sent, the route it is counted under)
ANSWERS: list[tuple[str, str, dict[str, str], int, str]] = [
    ("GET", "/static/js/missing.js", {}, 404, "/static"),
    ("GET", ASSET, {}, 200, "/static"),
    ("GET", ASSET, {"If-Modified-Since": "Fri, 31 Dec 2100 00:00:00 GMT"}, 304, "/static"),
    ("GET", ASSET, {"Range": "bytes=0-9"}, 206, "/static"),
    ("GET", ASSET, {"Range": "bytes=999999999-"}, 416, "/static"),
    ("POST", ASSET, {}, 405, "unmatched"),
    ("GET", "/no/such/page.txt", {}, 401, "unmatched"),
    ("DELETE", "/health/live", {}, 405, "unmatched"),
    ("GET", "/health/live", {}, 200, "/health/live"),
    ("GET", BASE, {}, 401, BASE),
    ("GET", BASE, {"Authorization": "Bearer wrong"}, 401, BASE),
]


class TestStatusSent:
    @pytest.mark.parametrize(("method", "path", "headers", "status", "route"), ANSWERS)
    async def test_each_answer_is_counted_under_the_status_it_was_sent_with(
        self,
        client: Client,
        method: str,
        path: str,
        headers: dict[str, str],
        status: int,
        route: str,
    ) -> None:
        before = {s: counted(method, route, s) for s in (200, status)}
        async with client.request(method, path, headers=headers) as response:
            await response.read()
            assert response.status == status
        assert counted(method, route, status) == before[status] + 1
        if status != 200:
            assert counted(method, route, 200) == before[200]

    async def test_a_handlers_refusal_and_answer_are_counted_as_sent(self, org_a: Caller) -> None:
        route = BASE + "/{batchId}"
        before = {s: counted("GET", route, s) for s in (200, 404)}
        unmatched = counted("GET", "unmatched", 404)
        status, _ = await org_a.get("/no/such/page.txt")
        assert status == 404 and counted("GET", "unmatched", 404) == unmatched + 1
        status, _ = await org_a.get(f"{BASE}/00000000-0000-4000-8000-000000000000")
        assert status == 404
        batch = await org_a.new_batch(restaurant())
        status, _ = await org_a.get(f"{BASE}/{batch['id']}")
        assert status == 200
        assert counted("GET", route, 404) == before[404] + 1
        assert counted("GET", route, 200) == before[200] + 1

    async def test_a_stream_is_counted_when_it_starts(self, org_a: Caller) -> None:
        route = BASE + "/{batchId}/stream"
        batch = await org_a.new_batch(restaurant())
        _, ticket = await org_a.post(f"{BASE}/{batch['id']}/stream-token")
        before = {s: counted("GET", route, s) for s in (200, 401)}
        async with org_a.client.get(ticket["url"]) as stream:
            assert stream.status == 200
            await stream.content.readline()
            assert counted("GET", route, 200) == before[200] + 1
        async with org_a.client.get(ticket["url"].replace("=", "=x")) as refused:
            assert refused.status == 401
        assert counted("GET", route, 401) == before[401] + 1
