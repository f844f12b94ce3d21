"""Error statuses, health, metrics and the OpenAPI document."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import uuid
from typing import Any

import psycopg
import pytest

from api.openapi import openapi_document
from api.routes import ROUTES
from api.services import SERVICES
from infrastructure.engine.clock import SYSTEM_CLOCK
from infrastructure.engine.quarantine import Quarantine
from tests.api.conftest import BASE, PASSWORD, Caller, Client, restaurant


class TestErrorStatuses:
    async def test_unknown_route_is_404_in_the_error_shape(self, org_a: Caller) -> None:
        status, body = await org_a.get("/api/nothing-here")
        assert (status, body) == (
            404,
            {"success": False, "message": "Not found", "errors": ["Not found"]},
        )

    async def test_wrong_method_is_405_with_allow(self, org_a: Caller) -> None:
        async with org_a.client.delete(
            BASE, headers={"Authorization": f"Bearer {org_a.key}"}
        ) as response:
            assert response.status == 405
            assert "GET" in response.headers["Allow"]
            assert (await response.json())["success"] is False

    async def test_body_over_the_limit_is_413_naming_limit_and_setting(self, org_a: Caller) -> None:
        huge = json.dumps({"job_ids": ["x" * 1_100_000]})
        status, body = await org_a.post(
            f"{BASE}/{uuid.uuid4()}/step-6/start",
            data=io.BytesIO(huge.encode()),
            headers={"Content-Type": "application/json"},
        )
        assert status == 413
        assert body["message"] == (
            "Request body too large: the limit is 1,048,576 bytes (set by REGFLOW_MAX_BODY_BYTES)"
        )

    async def test_a_json_array_body_is_422(self, org_a: Caller) -> None:
        status, body = await org_a.post(BASE, json=[1, 2])
        assert status == 422

    async def test_nul_characters_are_refused_before_they_reach_the_store(
        self, org_a: Caller
    ) -> None:
        status, body = await org_a.post(
            BASE, json={"name": "a\u0000b", "restaurants": [restaurant()]}
        )
        assert (status, body["errors"]) == (422, ["name: NUL character"])
        status, _ = await org_a.post(f"{BASE}/jobs/{uuid.uuid4()}/steps/6/sub-steps/a%00b/reset")
        assert status == 404

    async def test_invalid_utf8_is_400(self, org_a: Caller) -> None:
        status, _ = await org_a.post(
            BASE, data=b"\xff\xfe{", headers={"Content-Type": "application/json"}
        )
        assert status == 400


class TestHealth:
    async def test_live(self, client: Client) -> None:
        async with client.get("/health/live") as response:
            assert (response.status, (await response.json())["status"]) == (200, "live")

    async def test_ready_tells_an_anonymous_probe_no_counts(self, client: Client) -> None:
        async with client.get("/health/ready") as response:
            body = await response.json()
        assert (response.status, body) == (200, {"success": True, "status": "ready"})

    async def test_ready_reports_store_and_view_lag(self, org_a: Caller) -> None:
        headers = {"Authorization": f"Bearer {org_a.key}"}
        async with org_a.client.get("/health/ready", headers=headers) as response:
            body = await response.json()
        assert (response.status, body["status"]) == (200, "ready")
        assert body["checks"]["store"]["reachable"] is True
        assert set(body["checks"]["view_lag"]) and all(
            v >= 0 for v in body["checks"]["view_lag"].values()
        )

    async def test_ready_says_degraded_while_a_job_is_quarantined(self, org_a: Caller) -> None:
        engine = QuarantiningEngine()
        org_a.client.app[SERVICES].engine = engine
        engine.quarantine.hold("job-1", "TypeError: cannot serialise a set")
        headers = {"Authorization": f"Bearer {org_a.key}"}
        async with org_a.client.get("/health/ready", headers=headers) as response:
            body = await response.json()
        assert (response.status, body["status"]) == (200, "degraded")
        assert body["checks"]["engine"]["quarantined"][0]["job_id"] == "job-1"
        async with org_a.client.get("/health/ready") as response:
            assert await response.json() == {"success": True, "status": "degraded"}
        engine.quarantine.clear("job-1")
        async with org_a.client.get("/health/ready", headers=headers) as response:
            assert (await response.json())["status"] == "ready"


class QuarantiningEngine:
    """An in-process engine as readiness sees it: its quarantine."""

    def __init__(self) -> None:
        self.quarantine = Quarantine(SYSTEM_CLOCK)

    def wake(self, job_ids: object) -> None:
        return None

    def health(self) -> dict[str, object]:
        return self.quarantine.report()


class TestMetrics:
    async def test_needs_a_token(self, client: Client) -> None:
        async with client.get("/metrics") as response:
            assert response.status == 401

    async def test_labels_routes_by_template_never_by_id(self, org_a: Caller) -> None:
        job_id = (await org_a.new_batch())["jobs"][0]["id"]
        await org_a.get(f"{BASE}/jobs/{job_id}")
        async with org_a.client.get(
            "/metrics", headers={"Authorization": f"Bearer {org_a.key}"}
        ) as response:
            text = await response.text()
        assert response.status == 200
        assert 'route="/api/registration-batches/jobs/{jobId}"' in text
        assert job_id not in text
        assert "regflow_http_request_duration_seconds_bucket" in text
        assert "regflow_sub_step_outcomes_total" in text

    async def test_answers_while_the_store_does_not_and_reads_the_lag_once_at_a_time(
        self, org_a: Caller, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A store that does not answer (an outage) holds one lag read, not each scrape."""
        views = org_a.client.app[SERVICES].read_models
        answered, reads = threading.Event(), []

        def lag_of_a_store_that_does_not_answer() -> dict[str, int]:
            reads.append(1)
            answered.wait(30)
            return {"job_progress": 7}

        monkeypatch.setattr(views, "lag", lag_of_a_store_that_does_not_answer)
        headers = {"Authorization": f"Bearer {org_a.key}"}
        for _ in range(3):
            async with org_a.client.get("/metrics", headers=headers) as response:
                assert response.status == 200
        assert reads == [1]
        answered.set()
        async with org_a.client.get("/metrics", headers=headers) as response:
            text = await response.text()
        assert 'regflow_api_view_lag_events{view="job_progress"} 7.0' in text

    async def test_answers_when_the_lag_read_fails_transiently_but_not_on_a_fault(
        self, org_a: Caller, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        views = org_a.client.app[SERVICES].read_models
        headers = {"Authorization": f"Bearer {org_a.key}"}
        failures = iter([psycopg.OperationalError("the server closed the connection"), KeyError])

        def failing_lag() -> dict[str, int]:
            raise next(failures)

        monkeypatch.setattr(views, "lag", failing_lag)
        async with org_a.client.get("/metrics", headers=headers) as response:
            assert response.status == 200
        async with org_a.client.get("/metrics", headers=headers) as response:
            assert response.status == 500


class TestOpenApi:
    async def test_document_lists_every_api_route(self, org_a: Caller) -> None:
        status, doc = await org_a.get("/api/openapi.json")
        assert status == 200
        assert doc["openapi"].startswith("3.")
        for route in ROUTES:
            if route.api:
                assert route.method.lower() in doc["paths"][route.path]

    async def test_every_answer_given_is_documented(self, org_a: Caller) -> None:
        """Each status a route answers with, and the media type of its success, is in the
        document (304 on tagged reads, readiness's 503, the stream's event-stream and the
        metrics' text were not)."""
        doc = openapi_document(ROUTES)
        batch = await org_a.new_batch()
        job = batch["jobs"][0]["id"]
        auth = {"Authorization": f"Bearer {org_a.key}"}
        given: list[tuple[str, str, int, str]] = []

        async def ask(method: str, path: str, **options: Any) -> Any:
            options["headers"] = auth | options.get("headers", {})
            async with org_a.client.request(method, path, **options) as answer:
                kind = answer.headers.get("Content-Type", "").split(";")[0]
                given.append((method, path.split("?")[0], answer.status, kind))
                return answer.headers.get("ETag")

        for path in (f"{BASE}/jobs/{job}", f"{BASE}/{batch['id']}", f"{BASE}/{batch['id']}/jobs"):
            tag = await ask("GET", path)
            await ask("GET", path, headers={"If-None-Match": tag})
        tag = await ask("GET", f"{BASE}/{batch['id']}/progress")
        await ask("GET", f"{BASE}/{batch['id']}/progress", headers={"If-None-Match": tag})
        await ask("GET", "/metrics")
        await ask("GET", "/health/ready")
        await ask("POST", f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": []})
        await ask("POST", f"{BASE}/{batch['id']}/step-6/start", data=b"{", headers=JSON)
        await ask("GET", f"{BASE}/jobs/{job}", headers={"Authorization": "Bearer nope"})
        await ask("POST", f"{BASE}/jobs/{job}/resume-step-6", json={})
        for method, path, status, kind in given:
            operation = documented(doc, method, path)
            assert str(status) in operation["responses"], (method, path, status)
            if 200 <= status < 300:
                assert kind in operation["responses"][str(status)]["content"], (path, kind)
        stream = documented(doc, "GET", f"{BASE}/{batch['id']}/stream")["responses"]["200"]
        assert list(stream["content"]) == ["text/event-stream"]
        assert "503" in documented(doc, "GET", "/health/ready")["responses"]

    def test_request_bodies_refer_to_component_schemas(self) -> None:
        doc = openapi_document(ROUTES)
        patch = doc["paths"][BASE + "/jobs/{jobId}/steps/6/sub-steps/{subStepKey}"]["patch"]
        ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/SubStepEdit"
        assert "SubStepEdit" in doc["components"]["schemas"]


class TestNoSecretLeaks:
    async def test_no_secret_in_bodies_logs_or_metrics(
        self, org_a: Caller, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        batch = await org_a.new_batch(restaurant(token="tok-" + PASSWORD))
        job_id = batch["jobs"][0]["id"]
        bodies = [batch]
        await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        for path in (
            f"{BASE}/jobs/{job_id}",
            f"{BASE}/jobs/{job_id}/events",
            f"{BASE}/jobs/{job_id}/state",
            f"{BASE}/{batch['id']}",
            f"{BASE}/{batch['id']}/progress",
            BASE,
        ):
            bodies.append((await org_a.get(path))[1])
        async with org_a.client.get(
            "/metrics", headers={"Authorization": f"Bearer {org_a.key}"}
        ) as response:
            metrics = await response.text()
        for shown in (*map(str, bodies), caplog.text, metrics):
            assert PASSWORD not in shown


JSON = {"Content-Type": "application/json"}


def documented(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The document's operation for a request's method and path."""
    for template, operations in doc["paths"].items():
        pattern = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in operations:
            return dict(operations[method.lower()])
    raise AssertionError(f"{method} {path} is not in the document")
