"""Reading requests: JSON bodies and query strings into pydantic models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.errors import BadRequest, BodyTooLarge, field_errors
from domain.exceptions import InvalidInput
from domain.limits import MAX_NESTING, nesting_error, nul_paths
from domain.plan import PLAN

MAX_BODY_NESTING = MAX_NESTING + 8
"""Room for the envelope (a batch's restaurants, a bulk edit's updates) around a config."""

M = TypeVar("M", bound=BaseModel)


BODY_SETTING = "REGFLOW_MAX_BODY_BYTES"


async def raw_body(
    request: web.Request, limit: int | None = None, setting: str = BODY_SETTING
) -> bytes:
    """The body's bytes, up to `limit` (default: the app's); 413 naming the limit and setting."""
    if limit is not None:
        request = request.clone(client_max_size=limit)
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BodyTooLarge(request.client_max_size, setting) from None


async def body(request: web.Request, model: type[M], optional: bool = False) -> M:
    """The JSON body as `model`: 400 when it is not JSON, 422 when it breaks the model."""
    return decoded_body(await raw_body(request), model, optional)


def decoded_body(raw: bytes, model: type[M], optional: bool = False) -> M:
    """Bytes of a JSON body as `model`: 400 when they are not JSON, 422 when they break it."""
    if not raw.strip():
        if optional:
            return model()
        raise BadRequest("A JSON body is required", ["body: a JSON object is required"])
    try:
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON", ["body: not valid JSON"]) from None
    except RecursionError:
        raise BadRequest("Malformed JSON", ["body: nested too deeply"]) from None
    if decoded is None and optional:
        return model()
    return checked_body(decoded, model)


def checked_body(decoded: Any, model: type[M]) -> M:
    """A decoded JSON body as `model`: 422 when it is nested too deep, holds a NUL character or
    breaks the model (a ValidationError)."""
    if too_deep := nesting_error(decoded, "body", MAX_BODY_NESTING):
        raise InvalidInput("The body is nested too deeply", [too_deep])
    if nul := nul_paths(decoded, ""):
        raise InvalidInput(
            "Text must not contain NUL characters", [f"{p or 'body'}: NUL character" for p in nul]
        )
    return model.model_validate(decoded)


IDEMPOTENCY_KEY = "Idempotency-Key"


def idempotency_key(request: web.Request) -> str | None:
    """The request's Idempotency-Key header, as sent (None: none); its form is checked where
    it is used."""
    return request.headers.get(IDEMPOTENCY_KEY)


def sub_step_key(request: web.Request) -> str:
    """The `subStepKey` path parameter, if it names a sub-step of the plan; else 404."""
    return PLAN.sub_step(request.match_info["subStepKey"]).key


def query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`; bad values answer 400 with per-field messages, as does a
    parameter of the model given more than once (which of the values was meant is unknown)."""
    names = (field.alias or name for name, field in model.model_fields.items())
    repeated = [name for name in names if len(request.query.getall(name, ())) > 1]
    if repeated:
        errors = [f"{name}: given more than once; give it once" for name in repeated]
        raise BadRequest("Invalid query parameters", errors)
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise BadRequest("Invalid query parameters", field_errors(exc)) from None
