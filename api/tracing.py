"""A span for every HTTP request, continuing the caller's W3C trace; installed only when on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from infrastructure.tracing import id_attribute, mark_failed

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Path parameters that are ids, and the id each is (its span attribute: `regflow.<id>`).
ID_PARAMETERS = {"jobId": "job_id", "batchId": "batch_id"}


def tracing_middleware(tracer: Tracer) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware: one server span per request, named by method and route template."""

    @web.middleware
    async def traced(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else "unmatched"
        attributes: dict[str, str | int] = {
            "http.request.method": request.method,
            "http.route": template,
        }
        for parameter, name in ID_PARAMETERS.items():
            shown = id_attribute(name, request.match_info.get(parameter))
            if shown is not None:
                attributes[f"regflow.{name}"] = shown
        with tracer.start_as_current_span(
            f"{request.method} {template}",
            context=propagate.extract(request.headers),
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                span.set_attribute("http.response.status_code", exc.status)
                raise
            except Exception as exc:
                mark_failed(span, exc)
                raise
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

    return traced
