"""Tracing at run time: the tracer in force (none when off), fresh ids for unrecorded calls, the
W3C header, and the span around each use-case command."""

from __future__ import annotations

import functools
import inspect
import random
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags, Tracer

from domain.secret_words import scrub_text

T = TypeVar("T")
TRACER_NAME = "regflow"
# Span attributes regflow sets: ids only, each as `id_attribute` lets it through, so no secret
# can reach a span by construction.
ID_ATTRIBUTES = ("organisation_id", "batch_id", "job_id")
UUID_IDS = ("batch_id", "job_id")
# What a command found holds it in: a command given only a job's id (the CLI's, for any
# organisation) is still traced with the organisation and batch of the job it loaded.
HOLDING_IDS = ("organisation_id", "batch_id")
# The span of the use-case command running in this context, if tracing is on.
_command_span: ContextVar[Any] = ContextVar("regflow_command_span", default=None)


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


def id_attribute(name: str, value: object) -> str | None:
    """What the id `name` given to regflow becomes as a span attribute, or None to leave it out.

    A job's or batch's id is kept only as the UUID it reads as: given in a URL, it is whatever
    the caller typed (a token, `password=...`), refused or not. An organisation's id comes from
    the caller's credentials and is shown as every free text is (credentials masked)."""
    if value is None:
        return None
    if name in UUID_IDS:
        try:
            return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            return None
    return scrub_text(str(value))


def found_in(organisation_id: object, batch_id: object) -> None:
    """The running command loaded something held by this organisation and batch: its span
    gets either id it was not given. Nothing happens with tracing off or outside a command."""
    if _active.tracer is None or (span := _command_span.get()) is None:
        return
    given = getattr(span, "attributes", None) or {}
    for name, value in zip(HOLDING_IDS, (organisation_id, batch_id), strict=True):
        if f"regflow.{name}" not in given and (shown := id_attribute(name, value)) is not None:
            span.set_attribute(f"regflow.{name}", shown)


def mark_failed(span: Any, exc: BaseException) -> None:
    """Mark `span` failed by the exception's type only: its message may quote user input."""
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def traced_command(
    name: str, made: Callable[[Any], dict[str, object]] | None = None
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Run a use-case command inside a span named `regflow.<name>`, with the ids it was given,
    and those `made` finds in what it returned (the batch a create made)."""

    def decorate(function: Callable[..., T]) -> Callable[..., T]:
        parameters = list(inspect.signature(function).parameters)[1:]
        places = {p: i for i, p in enumerate(parameters) if p in ID_ATTRIBUTES}

        @functools.wraps(function)
        def run(self: Any, *args: Any, **kwargs: Any) -> T:
            tracer = _active.tracer
            if tracer is None:
                return function(self, *args, **kwargs)
            given = {p: args[i] if i < len(args) else kwargs.get(p) for p, i in places.items()}
            shown = {p: id_attribute(p, value) for p, value in given.items()}
            attributes = {f"regflow.{p}": v for p, v in shown.items() if v is not None}
            with tracer.start_as_current_span(
                f"regflow.{name}",
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                running = _command_span.set(span)
                try:
                    result = function(self, *args, **kwargs)
                except Exception as exc:
                    mark_failed(span, exc)
                    raise
                finally:
                    _command_span.reset(running)
                for p, value in (made(result) if made is not None else {}).items():
                    if p in ID_ATTRIBUTES and (found := id_attribute(p, value)) is not None:
                        span.set_attribute(f"regflow.{p}", found)
                return result

        return run

    return decorate
