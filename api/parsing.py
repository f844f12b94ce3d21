"""Reading requests: JSON bodies and query strings into pydantic models."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from aiohttp import hdrs, web
from pydantic import BaseModel, ValidationError

from api.errors import BadRequest, BodyTooLarge, UnsupportedMediaType, field_errors
from api.schemas.requests import Query, known_body_fields, known_parameters, parameter_names
from domain.exceptions import InvalidInput
from domain.limits import MAX_NESTING, nesting_error, unstorable_message, unstorable_text
from domain.plan import PLAN
from infrastructure.json_as_sent import UNFAITHFUL_MESSAGES, NumberTooLong, loads, unfaithful

MAX_BODY_NESTING = MAX_NESTING + 8
"""Room for the envelope (a batch's restaurants, a bulk edit's updates) around a config."""

M = TypeVar("M", bound=BaseModel)
Q = TypeVar("Q", bound=Query)


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
    except web.RequestPayloadError:  # its Content-Encoding says what it is not (bad gzip)
        encoding = request.headers.get(hdrs.CONTENT_ENCODING, "")
        shown = encoding if encoding.lower() in KNOWN_ENCODINGS else "as its Content-Encoding says"
        raise BadRequest("Malformed body: it cannot be decoded", [f"body: not {shown}"]) from None


KNOWN_ENCODINGS = ("gzip", "x-gzip", "deflate", "br", "zstd")
JSON = "application/json"
JSON_TYPES = (JSON, "application/*+json")
"""What a JSON body may be sent as (with no charset, or UTF-8, the only one JSON has)."""


def _is_json(media_type: str) -> bool:
    kind, _, subtype = media_type.partition("/")
    return media_type == JSON or (kind == "application" and subtype.endswith("+json"))


def body_type(request: web.Request, raw: bytes, uploads: Collection[str] = ()) -> str:
    """What the body `raw` is, by the request's Content-Type: JSON (any of JSON_TYPES, answered
    as `application/json`) or one of `uploads`. 415 naming what is accepted for anything else,
    for a charset other than UTF-8 (an upload's too: it is read as UTF-8), and for a body with
    no Content-Type at all (every client of ours names one). An empty body named an upload is
    that upload, empty (its reader says so); any other empty body is an absent JSON body."""
    accepted = (*JSON_TYPES, *sorted(uploads))
    named = request.content_type if hdrs.CONTENT_TYPE in request.headers else None
    if named is not None and named in uploads:
        _read_as_utf8(request, named, accepted)
        return named
    if not raw or raw.isspace():
        return JSON
    if named is None:
        raise UnsupportedMediaType("missing; a body must say what it is", accepted)
    if not _is_json(named):
        raise UnsupportedMediaType(f"{named[:100]} is not accepted here", accepted)
    _read_as_utf8(request, "JSON", accepted)
    return JSON


def _read_as_utf8(request: web.Request, what: str, accepted: tuple[str, ...]) -> None:
    """415 for a charset other than UTF-8, or named more than once (only one of them would be
    read): `what` is read as UTF-8 only."""
    if len(charsets_named(request)) > 1:
        raise UnsupportedMediaType(
            f"charset named more than once: {what} is read as UTF-8", accepted
        )
    charset = (request.charset or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"charset {charset[:40]}: {what} is read as UTF-8", accepted)


def charsets_named(request: web.Request) -> list[str]:
    """Each `charset` parameter of the request's Content-Type header (or headers)."""
    parameters = (
        part.strip()
        for header in request.headers.getall(hdrs.CONTENT_TYPE, ())
        for part in header.split(";")[1:]
    )
    return [p for p in parameters if p.partition("=")[0].strip().lower() == "charset"]


NOT_UTF8 = "The body is not UTF-8 text: JSON is read as UTF-8"


async def body(request: web.Request, model: type[M], optional: bool = False) -> M:
    """The JSON body as `model`: 415 when it is sent as something else, 400 when it is not
    JSON (or JSON that names a key twice or holds a number that is not finite), 422 when it
    breaks the model. A field of a body or a read's parameter sent as a query parameter
    (`?dry_run=true`) is 400 before anything is read (`refuse_command_parameters`)."""
    if request.query:
        refuse_command_parameters(request, model)
    raw = await raw_body(request)
    body_type(request, raw)
    return decoded_body(raw, model, optional)


def refuse_command_parameters(
    request: web.Request, model: type[BaseModel], options: type[Query] | None = None
) -> None:
    """400 for a query parameter that a command's body or a read takes, sent to a command
    whose body is `model` (and whose query is `options`, if it takes one): ignored as a cache
    buster is, `POST .../cancel?dry_run=true` would cancel the job."""
    fields = parameter_names(model)
    taken = parameter_names(options) if options is not None else []
    errors = []
    for name in dict.fromkeys(request.query):
        if name in taken:
            continue
        if name in fields:
            errors.append(f"{name}: a field of the JSON body, not a query parameter")
        elif name in known_body_fields() or name in known_parameters():
            errors.append(f"{name}: not taken by this command (its body takes {', '.join(fields)})")
    if errors:
        raise BadRequest("Invalid query parameters", errors)


def refuse_unfaithful(value: Any) -> None:
    """400 naming each repeated key and each number that is not finite (see `unfaithful`)."""
    if errors := unfaithful(value):
        found = {e.rsplit(": ", 1)[1] for e in errors}
        message = "; ".join(text for kind, text in UNFAITHFUL_MESSAGES.items() if kind in found)
        raise BadRequest(message, errors)


def decoded_body(raw: bytes, model: type[M], optional: bool = False) -> M:
    """Bytes of a JSON body as `model`: 400 when they are not JSON (or repeat a key or hold a
    number that is not finite), 422 when they break it."""
    if not raw or raw.isspace():
        if optional:
            return model()
        raise BadRequest("A JSON body is required", ["body: a JSON object is required"])
    try:
        # As UTF-8, the only charset JSON has (a byte order mark ignored, as JSON allows):
        # the standard library would also take UTF-16 and UTF-32 bytes, and lone surrogates.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(NOT_UTF8, [f"body: byte {exc.start} is not UTF-8"]) from None
    try:
        decoded = loads(text)
    except NumberTooLong as exc:
        raise BadRequest("Number too long", [f"body: {exc}"]) from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON", ["body: not valid JSON"]) from None
    except RecursionError:
        raise BadRequest("Malformed JSON", ["body: nested too deeply"]) from None
    if decoded is None and optional:
        return model()
    return checked_body(decoded, model)


def checked_body(decoded: Any, model: type[M]) -> M:
    """A decoded JSON body as `model`: 422 when it is nested too deep, 400 when it repeats a
    key or holds a number that is not finite (`unfaithful`), 422 when it holds a NUL character
    or a lone surrogate anywhere (no store can keep either), or when it breaks the model (a
    ValidationError, or a rule of the model's own)."""
    if too_deep := nesting_error(decoded, "body", MAX_BODY_NESTING):
        raise InvalidInput("The body is nested too deeply", [too_deep])
    refuse_unfaithful(decoded)
    if unstorable := unstorable_text(decoded, ""):
        raise InvalidInput(unstorable_message(unstorable), unstorable)
    return model.model_validate(decoded)


IDEMPOTENCY_KEY = "Idempotency-Key"


def idempotency_key(request: web.Request) -> str | None:
    """The request's Idempotency-Key header, as sent (None: none); its form is checked where
    it is used. Sent more than once, it is refused: which of the keys was meant is unknown."""
    given = request.headers.getall(IDEMPOTENCY_KEY, [])
    if len(given) > 1:
        errors = [f"{IDEMPOTENCY_KEY}: given more than once; give it once"]
        raise BadRequest("Invalid Idempotency-Key", errors)
    return given[0] if given else None


def sub_step_key(request: web.Request) -> str:
    """The `subStepKey` path parameter, if it names a sub-step of the plan; else 404."""
    return PLAN.sub_step(request.match_info["subStepKey"]).key


def query(request: web.Request, model: type[Q]) -> Q:
    """The query string as `model`; bad values answer 400 with per-field messages, as does a
    parameter of the model given more than once (which of the values was meant is unknown)."""
    names = parameter_names(model)
    repeated = [name for name in names if len(request.query.getall(name, ())) > 1]
    if repeated:
        errors = [f"{name}: given more than once; give it once" for name in repeated]
        raise BadRequest("Invalid query parameters", errors)
    # A parameter another read takes (`offset` on a list that pages by `after`) would be
    # ignored here, and the page asked for silently not given.
    taken = ", ".join(names) or "none"
    elsewhere = [
        f"{name}: not taken by this read (it takes {taken})"
        for name in dict.fromkeys(request.query)
        if name in known_parameters() and name not in names
    ]
    if elsewhere:
        raise BadRequest("Invalid query parameters", elsewhere)
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise BadRequest("Invalid query parameters", field_errors(exc, "query")) from None
