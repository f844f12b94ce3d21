"""The spans of one job's run on this worker: the run, and each sub-step attempt under it."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanContext, Status, StatusCode, TraceFlags

from domain.job import RegistrationJob
from infrastructure import tracing
from infrastructure.executors.port import CallOutcome

RUN_SPAN = "regflow.job.run"


def job_attributes(job: RegistrationJob) -> dict[str, str]:
    """The ids that place a job: organisation, batch, job."""
    return {
        "regflow.organisation_id": str(job.organisation_id),
        "regflow.batch_id": str(job.batch_id),
        "regflow.job_id": str(job.id),
    }


def recorded_context(trace_id: str | None, span_id: str | None) -> SpanContext | None:
    """The span context an event recorded, or None when it recorded none."""
    if not trace_id or not span_id:
        return None
    return SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )


def last_recorded(job: RegistrationJob) -> SpanContext | None:
    """The span of the attempt started last, as the job's events recorded it."""
    started = [s for s in job.sub_steps.values() if s.started_at and s.trace_id]
    if not started:
        return None
    latest = max(started, key=lambda s: s.started_at or 0)
    return recorded_context(latest.trace_id, latest.span_id)


class JobTrace:
    """Opens the run span and one span per attempt; ids only as attributes, never a value."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.run: Span | None = None
        self.attempts: dict[str, Span | SpanContext] = {}
        self._ids: dict[str, str] | None = None
        # Worked out once a run, not once an attempt: the attempts' parent, the run's trace,
        # and each open attempt's W3C header (made when its span opens).
        self._parent_context: Context | None = None
        self._run_trace: int | None = None
        self._headers: dict[str, str] = {}

    def open(self, job: RegistrationJob) -> None:
        """Start the run's span, linked to the trace of the attempt recorded last (a resume)."""
        tracer = tracing.active_tracer()
        if tracer is None or self.run is not None:
            return
        before = last_recorded(job)
        self.run = tracer.start_span(
            RUN_SPAN,
            context=Context(),
            attributes=job_attributes(job),
            links=[Link(before, {"regflow.link": "resumed"})] if before else None,
        )
        self._parent_context = trace.set_span_in_context(self.run)
        self._run_trace = self.run.get_span_context().trace_id

    def begin(self, job: RegistrationJob, key: str) -> tuple[str, str]:
        """Open the span of the next attempt of `key`; returns its (trace_id, span_id) in hex."""
        tracer = tracing.active_tracer()
        if tracer is None:
            context = tracing.unsampled_context()
            self.attempts[key] = context
        else:
            if self._ids is None:
                self._ids = job_attributes(job)
            span = tracer.start_span(
                key,
                context=self._parent(),
                attributes=_attempt(self._ids, job, key),
                links=self._earlier(job, key),
            )
            self.attempts[key] = span
            context = span.get_span_context()
        header = self._headers[key] = tracing.traceparent(context)
        _, trace_id, span_id, _ = header.split("-")
        return trace_id, span_id

    def _earlier(self, job: RegistrationJob, key: str) -> list[Link] | None:
        """A link to the previous attempt of `key` when it ran in another trace (a resume)."""
        previous = job.sub_steps[key]
        if not previous.trace_id or int(previous.trace_id, 16) == self._run_trace:
            return None
        before = recorded_context(previous.trace_id, previous.span_id)
        return [Link(before, {"regflow.link": "previous attempt"})] if before else None

    def _parent(self) -> Context:
        return self._parent_context if self._parent_context is not None else Context()

    def traceparent(self, key: str) -> str | None:
        """The W3C header of the open attempt of `key` (`tracing.traceparent` of its span)."""
        return self._headers.get(key)

    def end(self, key: str, outcome: str, answer: CallOutcome | None = None) -> None:
        """Close the attempt's span with what became of it (completed, retry, failed...)."""
        attempt = self.attempts.pop(key, None)
        self._headers.pop(key, None)
        if attempt is None or isinstance(attempt, SpanContext):
            return
        attempt.set_attribute("regflow.outcome", outcome)
        if answer is not None and answer.status is not None:
            attempt.set_attribute("http.response.status_code", answer.status)
        if answer is not None and not answer.ok:
            kind = "transient" if answer.transient else "permanent"
            attempt.set_attribute("error.type", kind)
            attempt.set_status(Status(StatusCode.ERROR, kind))
        attempt.end()

    def close(self, ended: str) -> None:
        """End the attempts still open (the run stopped under them) and the run's span."""
        for key in list(self.attempts):
            self.end(key, "abandoned")
        if self.run is not None:
            self.run.set_attribute("regflow.run.ended", ended)
            self.run.end()
            self.run = None
            self._parent_context = self._run_trace = None


def _attempt(ids: dict[str, str], job: RegistrationJob, key: str) -> dict[str, Any]:
    state = job.sub_steps[key]
    return ids | {
        "regflow.sub_step": key,
        "regflow.attempt": state.attempts + 1,
        "regflow.idempotency_key": job.idempotency_key(key),
    }
