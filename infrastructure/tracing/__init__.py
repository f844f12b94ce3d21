"""OpenTelemetry tracing: on when the standard OTEL_* environment asks for it, free when off.

`environment` turns it on (exporters, the console's line per span); `active` is what runs while
it is on or off: the tracer in force, ids, the W3C header and the span of each command.
"""

from __future__ import annotations

from infrastructure.tracing.active import (
    ID_ATTRIBUTES,
    TRACER_NAME,
    active_tracer,
    found_in,
    id_attribute,
    install,
    mark_failed,
    shutdown,
    traced_command,
    traceparent,
    uninstall,
    unsampled_context,
    use_id_source,
)
from infrastructure.tracing.environment import (
    DEFAULT_SERVICE_NAME,
    TracingUnavailable,
    configure,
    console_line,
    exporters_wanted,
)

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "ID_ATTRIBUTES",
    "TRACER_NAME",
    "TracingUnavailable",
    "active_tracer",
    "configure",
    "console_line",
    "exporters_wanted",
    "found_in",
    "install",
    "id_attribute",
    "mark_failed",
    "shutdown",
    "traced_command",
    "traceparent",
    "uninstall",
    "unsampled_context",
    "use_id_source",
]
