"""Reading requests: JSON bodies and query strings into pydantic models."""

from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.errors import BadRequest, field_errors

M = TypeVar("M", bound=BaseModel)


async def body(request: web.Request, model: type[M], optional: bool = False) -> M:
    """The JSON body as `model`: 400 when it is not JSON, 422 when it breaks the model."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return model()
        raise BadRequest("A JSON body is required", ["body: a JSON object is required"])
    try:
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON", ["body: not valid JSON"]) from None
    if decoded is None and optional:
        return model()
    return model.model_validate(decoded)


def query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`; bad values answer 400 with per-field messages."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise BadRequest("Invalid query parameters", field_errors(exc)) from None
