"""The OpenAPI 3 document, built from the route table and its pydantic schemas."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.routing import ROUTE_TABLE, Route
from api.schemas import ErrorAnswer

REF = "#/components/schemas/{model}"
ERRORS = {
    "400": "Malformed JSON (or JSON naming a key twice, or a number that is not finite) or bad "
    "query parameters",
    "401": "Missing or invalid bearer token",
    "404": "Unknown, malformed or another organisation's id",
    "409": "The job is running, or the command conflicts with its state",
    "413": "Request body too large",
    "422": "The request breaks a rule (per-field or per-item errors)",
    "503": "The store cannot be reached now, or the process is too busy to take the request; "
    "nothing was done: try again after Retry-After seconds. Without Retry-After: the job's "
    "stored events were changed by hand (the message names the job and what is wrong)",
}
NOT_MODIFIED = (304, "Not modified: If-None-Match holds the answer's ETag (no body)")
UNSUPPORTED = "A body sent as another media type than the request body's (or with none)"
PATH_PARAMS = {"jobId": "uuid", "batchId": "uuid", "subStepKey": None}


def _models(routes: tuple[Route, ...]) -> list[type[BaseModel]]:
    found: set[type[BaseModel]] = {ErrorAnswer}
    for route in routes:
        found |= {m for m in (route.answer, route.body) if m is not None}
    return sorted(found, key=lambda m: m.__name__)


HEADER = {"type": "string", "minLength": 1, "maxLength": 255}


def _parameters(route: Route) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in re.findall(r"\{(\w+)\}", route.path):
        schema = {"type": "string"} | ({"format": f} if (f := PATH_PARAMS[name]) else {})
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if route.query is not None:
        props = route.query.model_json_schema()["properties"]
        params += [
            {"name": n, "in": "query", "required": False, "schema": p} for n, p in props.items()
        ]
    params += [
        {"name": n, "in": "header", "required": False, "description": d, "schema": HEADER}
        for n, d in route.headers
    ]
    return params


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _operation(route: Route) -> dict[str, Any]:
    error = {"description": "", "content": _json(ErrorAnswer)}
    responses: dict[str, Any] = {str(route.status): {"description": route.summary}}
    if route.answer is not None:
        responses[str(route.status)]["content"] = _json(route.answer)
    elif route.media != "application/json":
        responses[str(route.status)]["content"] = {route.media: {"schema": {"type": "string"}}}
    if not route.public:
        responses |= {code: error | {"description": text} for code, text in ERRORS.items()}
    for status, text in route.also:
        # a refusal of the API's is its error answer; a public route's answers are its own
        refusal = status >= 400 and not route.public
        answer = ErrorAnswer if refusal else route.answer or ErrorAnswer
        body = {} if status == NOT_MODIFIED[0] else {"content": _json(answer)}
        responses[str(status)] = {"description": text} | body
    operation: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.handler.__name__,
        "parameters": _parameters(route),
        "responses": responses,
    }
    if route.body is not None:
        responses["415"] = error | {"description": UNSUPPORTED}
        operation["requestBody"] = {
            "required": not route.body_optional,
            "content": _json(route.body)
            | {kind: {"schema": {"type": "string"}} for kind in route.uploads},
        }
    if route.public:
        operation["security"] = []
    return operation


@cache
def openapi_document(routes: tuple[Route, ...]) -> dict[str, Any]:
    """The document: one operation per route of the table."""
    _, defs = models_json_schema([(m, "validation") for m in _models(routes)], ref_template=REF)
    paths: dict[str, Any] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "regflow", "version": "1", "description": "Step 6 registration API"},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


async def openapi_json(request: web.Request) -> web.Response:
    """GET /api/openapi.json: the document of the routes this app serves."""
    return web.json_response(openapi_document(request.app[ROUTE_TABLE]))
