"""Reading requests: JSON bodies and query strings into pydantic models."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from api.errors import BadRequest, field_errors
from domain.exceptions import InvalidInput
from domain.limits import MAX_NESTING, nesting_error
from domain.plan import PLAN

MAX_BODY_NESTING = MAX_NESTING + 8
"""Room for the envelope (a batch's restaurants, a bulk edit's updates) around a config."""

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
    except RecursionError:
        raise BadRequest("Malformed JSON", ["body: nested too deeply"]) from None
    if decoded is None and optional:
        return model()
    if too_deep := nesting_error(decoded, "body", MAX_BODY_NESTING):
        raise InvalidInput("The body is nested too deeply", [too_deep])
    if nul := nul_paths(decoded, "body"):
        raise InvalidInput(
            "Text must not contain NUL characters", [f"{p}: NUL character" for p in nul]
        )
    return model.model_validate(decoded)


def nul_paths(value: Any, path: str) -> list[str]:
    """Where NUL characters hide in a decoded JSON value (the stores cannot hold them)."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        keys = [f"{path}.<key>" for k in value if "\x00" in k]
        return keys + [p for k, v in value.items() for p in nul_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nul_paths(v, f"{path}[{i}]")]
    return []


def sub_step_key(request: web.Request) -> str:
    """The `subStepKey` path parameter, if it names a sub-step of the plan; else 404."""
    return PLAN.sub_step(request.match_info["subStepKey"]).key


def query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`; bad values answer 400 with per-field messages."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise BadRequest("Invalid query parameters", field_errors(exc)) from None
