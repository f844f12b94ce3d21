"""Turning tracing on from the standard OTEL_* environment: which exporters, and how a span
reads on the console."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Mapping
from typing import IO, Any

import orjson
from opentelemetry import trace

from infrastructure.tracing.active import _active, install

log = logging.getLogger("regflow.tracing")
DEFAULT_SERVICE_NAME = "regflow"


class TracingUnavailable(Exception):
    """The environment asks for an exporter that is not installed or not known."""


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


# The OTLP protocols the standard names: the HTTP exporter sends protobuf (its JSON variant is
# taken as HTTP too, as the SDK's exporter does).
OTLP_PROTOCOLS = ("http/protobuf", "http/json", "grpc")


def _exporter(name: str, environ: Mapping[str, str], console_out: IO[str] | None) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # Standard error: a command's standard output is its answer (`--json` is one document).
        return ConsoleSpanExporter(out=console_out or sys.stderr, formatter=console_line)
    if name != "otlp":
        raise TracingUnavailable(f"OTEL_TRACES_EXPORTER={name} is not known: use otlp or console")
    named = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    if not environ.get(named):
        named = "OTEL_EXPORTER_OTLP_PROTOCOL"
    protocol = environ.get(named) or "http/protobuf"
    if protocol not in OTLP_PROTOCOLS:
        known = ", ".join(OTLP_PROTOCOLS)
        raise TracingUnavailable(f"{named}={protocol} is not known: use one of {known}")
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
