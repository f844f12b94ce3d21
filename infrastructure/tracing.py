"""OpenTelemetry tracing: on when the standard OTEL_* environment asks for it, free when off."""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import os
import random
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any, TypeVar

import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags, Tracer

log = logging.getLogger("regflow.tracing")
T = TypeVar("T")
TRACER_NAME = "regflow"
DEFAULT_SERVICE_NAME = "regflow"
# Span attributes regflow sets: ids only, so no secret can reach a span by construction.
ID_ATTRIBUTES = ("organisation_id", "batch_id", "job_id")


class TracingUnavailable(Exception):
    """The environment asks for an exporter that is not installed or not known."""


class _Active:
    tracer: Tracer | None = None
    provider: Any = None


_active = _Active()


def active_tracer() -> Tracer | None:
    """The tracer when tracing is on; None when it is off (the caller skips its spans)."""
    return _active.tracer


def install(provider: Any) -> None:
    """Trace through `provider` from now on (an SDK TracerProvider)."""
    _active.provider = provider
    _active.tracer = provider.get_tracer(TRACER_NAME)


def uninstall() -> None:
    """Tracing off again: no tracer, no span processor."""
    _active.provider = None
    _active.tracer = None


def exporters_wanted(environ: Mapping[str, str]) -> tuple[list[str], bool]:
    """The exporters the standard environment asks for, and whether it names them explicitly."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return [], False
    named = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        chosen = [n.strip() for n in named.split(",") if n.strip() not in ("", "none")]
        return chosen, True
    implied = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if any(environ.get(k, "").strip() for k in (*implied, "OTEL_SERVICE_NAME")):
        return ["otlp"], False
    return [], False


def configure(environ: Mapping[str, str] | None = None, console_out: IO[str] | None = None) -> bool:
    """Turn tracing on if the environment asks for it; True when it is on.

    An exporter named in OTEL_TRACES_EXPORTER that cannot be used raises TracingUnavailable;
    the OTLP exporter only implied by an endpoint or service name is skipped with a warning.
    """
    environ = os.environ if environ is None else environ
    names, explicit = exporters_wanted(environ)
    if not names:
        return False
    exporters = []
    for name in names:
        try:
            exporters.append(_exporter(name, environ, console_out))
        except TracingUnavailable as exc:
            if explicit:
                raise
            log.warning("tracing stays off: %s", exc)
            return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = environ.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if _active.provider is None:
        trace.set_tracer_provider(provider)
    install(provider)
    log.info("tracing on: service %s, exporters %s", service, ", ".join(names))
    return True


def _exporter(name: str, environ: Mapping[str, str], console_out: IO[str] | None) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=console_out or sys.stdout, formatter=console_line)
    if name != "otlp":
        raise TracingUnavailable(f"OTEL_TRACES_EXPORTER={name} is not known: use otlp or console")
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    module = "opentelemetry.exporter.otlp.proto." + ("grpc" if protocol == "grpc" else "http")
    try:
        exporter_module = importlib.import_module(module + ".trace_exporter")
    except ImportError:
        raise TracingUnavailable(
            f"the OTLP exporter ({protocol}) is not installed: pip install 'regflow[otel]'"
        ) from None
    return exporter_module.OTLPSpanExporter()


def console_line(span: Any) -> str:
    """One span as a line of JSON: ids, timing, status, attributes, links (cheaper than to_json)."""
    context, parent = span.context, span.parent
    line = {
        "name": span.name,
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{parent.span_id:016x}" if parent is not None else None,
        "kind": span.kind.name,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "links": [
            {"trace_id": f"{k.context.trace_id:032x}", "span_id": f"{k.context.span_id:016x}"}
            for k in span.links
        ],
        "service.name": span.resource.attributes.get("service.name"),
    }
    return orjson.dumps(line).decode() + "\n"


def shutdown() -> None:
    """Export what is buffered and stop (at the end of a process or a test)."""
    if _active.provider is not None:
        _active.provider.force_flush()


class _IdSource:
    """Where fresh unsampled ids come from: the process's generator, or a simulation's."""

    generator = random.Random()


def use_id_source(generator: random.Random) -> random.Random:
    """Draw fresh trace ids from `generator` (a seeded one in a simulation); the one replaced."""
    replaced, _IdSource.generator = _IdSource.generator, generator
    return replaced


def unsampled_context() -> SpanContext:
    """Fresh ids for a call nobody records: the W3C header still ties the call to the log."""
    ids = _IdSource.generator
    return SpanContext(
        trace_id=ids.getrandbits(128) or 1,
        span_id=ids.getrandbits(64) or 1,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.DEFAULT),
    )


def traceparent(context: SpanContext) -> str:
    """The W3C `traceparent` header value of a span context."""
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def mark_failed(span: Any, exc: BaseException) -> None:
    """Mark `span` failed by the exception's type only: its message may quote user input."""
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def traced_command(name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Run a use-case command inside a span named `regflow.<name>`, with the ids it was given."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        parameters = list(inspect.signature(function).parameters)[1:]
        places = {p: i for i, p in enumerate(parameters) if p in ID_ATTRIBUTES}

        @functools.wraps(function)
        def run(self: Any, *args: Any, **kwargs: Any) -> T:
            tracer = _active.tracer
            if tracer is None:
                return function(self, *args, **kwargs)
            attributes = {
                f"regflow.{p}": str(args[i] if i < len(args) else kwargs.get(p))
                for p, i in places.items()
                if (args[i] if i < len(args) else kwargs.get(p)) is not None
            }
            with tracer.start_as_current_span(
                f"regflow.{name}",
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    return function(self, *args, **kwargs)
                except Exception as exc:
                    mark_failed(span, exc)
                    raise

        return run

    return decorate
