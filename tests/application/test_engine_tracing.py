"""The engine's spans: a resumed job links to the trace its events recorded before the crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from infrastructure import tracing
from infrastructure.engine.job_trace import RUN_SPAN
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import (
    engine_and_simulator,
    start_batch,
)
from tests.kit import restaurants

BEFORE = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")


def crashed_mid_call(app: Registrations, key: str) -> str:
    """A job whose worker died while `key` was being called in the trace BEFORE."""
    [job_id] = start_batch(app, restaurants(1))
    job = app.job(job_id)
    job.claim("worker-that-died")
    job.start_sub_step(key, *BEFORE)
    app.store(job)
    return job_id


async def test_a_resumed_job_links_its_new_spans_to_the_trace_recorded_before(
    app: Registrations, settings: Settings, spans: InMemorySpanExporter
) -> None:
    job_id = crashed_mid_call(app, "cloudwaitressAccount")
    async with engine_and_simulator(app, settings) as (sim, engine):
        assert await engine.run_until_idle(30)
    assert app.job(job_id).status == "completed"
    # The session's database may hold other tests' started jobs, which this engine runs too.
    finished = [
        s
        for s in spans.get_finished_spans()
        if (s.attributes or {}).get("regflow.job_id") == job_id
    ]
    [run] = [s for s in finished if s.name == RUN_SPAN]
    [again] = [s for s in finished if s.name == "cloudwaitressAccount"]
    before = (int(BEFORE[0], 16), int(BEFORE[1], 16))
    for span in (run, again):
        assert [(k.context.trace_id, k.context.span_id) for k in span.links] == [before]
    assert again.context.trace_id == run.context.trace_id != before[0]
    [call] = [c for c in sim.calls if c.sub_step == "cloudwaitressAccount" and c.job == job_id]
    assert call.traceparent is not None and f"{again.context.span_id:016x}" in call.traceparent


def test_an_event_stored_before_traces_reads_back_without_one() -> None:
    from domain.job import RegistrationJob

    state = {"sub_step": "x", "attempt": 1, "run_attempt": 1, "generation": 1}
    RegistrationJob.SubStepStarted.upcast_v1_v2(state)
    assert state["trace_id"] is None and state["span_id"] is None
    assert RegistrationJob.SubStepStarted.class_version == 2


def run_python(code: str, output: str = "stdout", **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(getattr(done, output))


def test_with_tracing_off_no_span_processor_is_installed() -> None:
    out = run_python(
        "import sys\n"
        "from opentelemetry import trace\n"
        "from infrastructure import tracing\n"
        "import api.app, infrastructure.engine.runner\n"
        "print(tracing.configure(), tracing.active_tracer(),\n"
        "      type(trace.get_tracer_provider()).__name__,\n"
        "      any(m.startswith('opentelemetry.sdk') for m in sys.modules))\n"
    )
    assert out.split() == ["False", "None", "ProxyTracerProvider", "False"]


def test_the_console_exporter_writes_spans_without_a_collector() -> None:
    out = run_python(
        "from infrastructure import tracing\n"
        "assert tracing.configure()\n"
        "with tracing.active_tracer().start_as_current_span('looked-at'): pass\n"
        "tracing.shutdown()\n",
        output="stderr",
        OTEL_TRACES_EXPORTER="console",
        OTEL_SERVICE_NAME="regflow-test",
    )
    [line] = [json.loads(text) for text in out.splitlines()]
    assert (line["name"], line["service.name"]) == ("looked-at", "regflow-test")
    assert len(line["trace_id"]) == 32 and line["end_time"] >= line["start_time"]


def test_console_spans_leave_a_commands_standard_output_to_its_answer(tmp_path: Path) -> None:
    """A command's `--json` stays one document on standard output; its spans go to standard
    error, one JSON line each."""
    examples = Path(__file__).parents[2] / "examples" / "restaurants.json"
    done = subprocess.run(
        [sys.executable, "-m", "api", "batch", "run", str(examples), "--json"],
        env={
            "PATH": "/usr/bin:/bin",
            "REGFLOW_DATABASE_URL": f"sqlite:///{tmp_path}/traced.db",
            "OTEL_TRACES_EXPORTER": "console",
        },
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer = json.loads(done.stdout)
    assert answer["finished"] and answer["jobs"] == {"completed": len(answer["job_ids"])}
    spans = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert {"regflow.create_batch", "menuImport"} <= {span["name"] for span in spans}


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, []),
        ({"OTEL_TRACES_EXPORTER": "none"}, []),
        ({"OTEL_TRACES_EXPORTER": "console,otlp"}, ["console", "otlp"]),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_SERVICE_NAME": "regflow-eu"}, ["otlp"]),
        ({"OTEL_SERVICE_NAME": "x", "OTEL_SDK_DISABLED": "true"}, []),
    ],
)
def test_the_standard_environment_decides(environ: dict[str, str], wanted: list[str]) -> None:
    assert tracing.exporters_wanted(environ)[0] == wanted


def test_an_unknown_exporter_is_a_clear_error() -> None:
    with pytest.raises(tracing.TracingUnavailable, match="zipkin-ish is not known"):
        tracing.configure({"OTEL_TRACES_EXPORTER": "zipkin-ish"})
    assert tracing.active_tracer() is None


@pytest.mark.parametrize(
    "variable", ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"]
)
def test_an_unknown_otlp_protocol_is_a_clear_error(variable: str) -> None:
    """It fell back to HTTP without a word, a collector listening for something else."""
    environ = {"OTEL_TRACES_EXPORTER": "otlp", variable: "bogus"}
    with pytest.raises(tracing.TracingUnavailable, match=f"{variable}=bogus is not known"):
        tracing.configure(environ)
    assert tracing.active_tracer() is None
