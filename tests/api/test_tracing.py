"""OpenTelemetry spans through the API, the use-case layer, the engine and the simulator."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from api.runtime import build_app
from api.services import SERVICES
from domain.plan import PLAN
from infrastructure import tracing
from infrastructure.settings import Settings, reveal
from tests.api.conftest import BASE, PASSWORD, Caller, Client, MakeClient, restaurant
from tests.api.test_engine_flows import settled_job, simulator


@pytest.fixture
async def traced(
    spans: InMemorySpanExporter, aiohttp_client: MakeClient, api_settings: Settings
) -> Caller:
    update: dict[str, Any] = {"role": "all"}
    if api_settings.is_postgres:
        update["registration_api_url"] = "simulator"
    client = await aiohttp_client(build_app(api_settings.model_copy(update=update)))
    org, key = (reveal(api_settings.api_keys) or "").split(",")[0].split(":", 1)
    return Caller(client, org, key)


async def ran_job(caller: Caller) -> tuple[dict[str, Any], str]:
    batch = await caller.new_batch(restaurant("Traced"))
    status, _ = await caller.post(f"{BASE}/{batch['id']}/step-6/start")
    assert status == 202
    job_id = str(batch["jobs"][0]["id"])
    assert (await settled_job(caller, job_id))["status"] == "completed"
    return batch, job_id


def named(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in spans.get_finished_spans() if s.name == name]


async def test_a_request_and_its_command_are_spans_with_their_ids(
    traced: Caller, spans: InMemorySpanExporter
) -> None:
    batch, job_id = await ran_job(traced)
    [request] = named(spans, "POST /api/registration-batches/{batchId}/step-6/start")
    [command] = named(spans, "regflow.start_step6")
    assert request.kind == SpanKind.SERVER and request.attributes is not None
    assert request.attributes["regflow.batch_id"] == batch["id"]
    assert request.attributes["http.response.status_code"] == 202
    assert command.parent is not None and command.parent.span_id == request.context.span_id
    assert command.attributes == {
        "regflow.organisation_id": traced.org,
        "regflow.batch_id": batch["id"],
    }
    [create] = named(spans, "regflow.create_batch")  # the batch it made, found once made
    assert create.attributes == {
        "regflow.organisation_id": traced.org,
        "regflow.batch_id": batch["id"],
    }


async def test_each_attempt_is_a_span_whose_traceparent_the_simulator_received(
    traced: Caller, spans: InMemorySpanExporter
) -> None:
    batch, job_id = await ran_job(traced)
    attempts = [s for s in spans.get_finished_spans() if s.name in PLAN.keys]
    mine = [s for s in attempts if (s.attributes or {}).get("regflow.job_id") == job_id]
    assert {s.name for s in mine} == set(PLAN.keys)
    calls = (await simulator(traced.client, "GET", "/_simulator/calls"))["calls"]
    received = {c["sub_step"]: c["traceparent"] for c in calls if c["job"] == job_id}
    for span in mine:
        attributes = span.attributes or {}
        assert attributes["regflow.batch_id"] == batch["id"]
        assert attributes["regflow.organisation_id"] == traced.org
        assert attributes["regflow.attempt"] == 1
        assert attributes["regflow.idempotency_key"].startswith(f"{job_id}:{span.name}:")
        assert attributes["regflow.outcome"] == "completed"
        version, trace_id, span_id, flags = received[span.name].split("-")
        assert (version, int(trace_id, 16), int(span_id, 16)) == (
            "00",
            span.context.trace_id,
            span.context.span_id,
        )
        assert int(flags, 16) & 1, "a recorded attempt is sent as sampled"


async def test_sub_step_started_records_the_attempts_trace(
    traced: Caller, spans: InMemorySpanExporter
) -> None:
    _, job_id = await ran_job(traced)
    store = traced.client.app[SERVICES].app
    started = [e for e in store.events.get(UUID(job_id)) if type(e).__name__ == "SubStepStarted"]
    # The engine runs other tests' jobs left in progress on a shared store too: their
    # attempts are spans of the same names.
    by_key = {
        s.name: s.context
        for s in spans.get_finished_spans()
        if s.name in PLAN.keys and (s.attributes or {}).get("regflow.job_id") == job_id
    }
    assert len(started) == len(PLAN.keys)
    for event in started:
        context = by_key[event.sub_step]
        assert (event.trace_id, event.span_id) == (
            f"{context.trace_id:032x}",
            f"{context.span_id:016x}",
        )


async def test_no_secret_reaches_any_span(
    traced: Caller, spans: InMemorySpanExporter, api_settings: Settings
) -> None:
    await ran_job(traced)
    status, _ = await traced.patch(f"{BASE}/jobs/{'0' * 8}/steps/6/sub-steps/x", json={})
    everything = json.dumps([json.loads(s.to_json()) for s in spans.get_finished_spans()])
    assert status == 404 and "regflow.start_step6" in everything
    for secret in (PASSWORD, traced.key, "Bearer", "owner@example.com"):
        assert secret not in everything


async def test_calls_carry_a_traceparent_with_tracing_off(client: Client) -> None:
    assert tracing.active_tracer() is None
    parts = tracing.traceparent(tracing.unsampled_context()).split("-")
    assert [len(p) for p in parts] == [2, 32, 16, 2] and parts[3] == "00"


# Path segments a caller may type where an id goes, each holding the secret SEGMENT_SECRET.
SEGMENT_SECRET = "PLANTED-7f3a"
HOSTILE_SEGMENTS = [
    f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{SEGMENT_SECRET}In0.abcdefghijklmnopqrstuvwxyz012345",
    f"password={SEGMENT_SECRET}",
    f"Bearer%20{SEGMENT_SECRET}",
    f"{SEGMENT_SECRET}",
    f"12345678-1234-1234-1234-1234567890ab{SEGMENT_SECRET}",
    f"%7B{SEGMENT_SECRET}%7D",
    f"api_key:{SEGMENT_SECRET}",
]
ROUTES = [
    "{BASE}/jobs/{segment}",
    "{BASE}/jobs/{segment}/steps/6/sub-steps/menuImport",
    "{BASE}/{segment}",
    "{BASE}/{segment}/progress",
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("segment", HOSTILE_SEGMENTS)
@pytest.mark.parametrize("authorised", [True, False], ids=["with-key", "without-key"])
async def test_an_id_typed_in_a_url_reaches_a_span_only_as_the_uuid_it_reads_as(
    traced: Caller, spans: InMemorySpanExporter, route: str, segment: str, authorised: bool
) -> None:
    url = route.format(BASE=BASE, segment=segment)
    headers = {} if authorised else {"Authorization": "Bearer not-a-key"}
    if "sub-steps" in url:
        await traced.patch(url, json={"status": "skipped", "reason": "x"}, headers=headers)
    else:
        await traced.get(url, headers=headers)
    finished = spans.get_finished_spans()
    assert finished, "the request was traced"
    everything = json.dumps([json.loads(s.to_json()) for s in finished])
    assert SEGMENT_SECRET not in everything


@pytest.mark.parametrize("written", [str.upper, lambda u: u.replace("-", ""), "urn:uuid:{}".format])
async def test_a_uuid_written_another_way_is_its_canonical_attribute(
    traced: Caller, spans: InMemorySpanExporter, written: Any
) -> None:
    batch, _ = await ran_job(traced)
    spans.clear()
    await traced.get(f"{BASE}/{written(batch['id'])}")
    [request] = named(spans, "GET /api/registration-batches/{batchId}")
    assert (request.attributes or {})["regflow.batch_id"] == batch["id"]
