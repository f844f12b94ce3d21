"""Cheap repeated reads: weak ETags with 304 Not Modified, and gzip for JSON answers; and
the other side of a job's tag, the If-Match of a command that changes the job."""

from __future__ import annotations

import hashlib
import re
import zlib
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from api.routing import Handler
from domain.preconditions import VersionsRead

GZIP_FROM_BYTES = 1024
# A new release may present the same versions differently: its tags differ.
try:
    RELEASE = version("regflow")
except PackageNotFoundError:
    RELEASE = "0"


def etag(kind: str, token: object) -> str:
    """A weak tag (gzip changes the bytes, not the meaning) of one representation."""
    return f'W/"{kind}-{token}-{RELEASE}"'


IF_MATCH = "If-Match"
_JOB_TAG = re.compile(r'(?:W/)?"job-([0-9]{1,18})-([^"]*)"')


def versions_read(request: web.Request) -> VersionsRead | None:
    """The versions of the job named in the request's If-Match (the tags of `GET /jobs/{id}`,
    weak or not: the job's tag names its version, which the command compares); None when the
    header is absent or `*`. A tag that names no version of this release (another thing's, an
    older release's, garbage) matches no version: the command is refused, 412."""
    given = request.headers.getall(IF_MATCH, [])
    if not given:
        return None
    tags = [t.strip() for t in ",".join(given).split(",") if t.strip()]
    if tags == ["*"]:
        return None
    found = (_JOB_TAG.fullmatch(t) for t in tags)
    return VersionsRead(frozenset(int(m[1]) for m in found if m is not None and m[2] == RELEASE))


def content_tag(kind: str, query: object, body: bytes) -> str:
    """A weak tag of an answer to one query: equal for the same query and the same bytes, and
    different when either differs (the query counts even where two answers read alike)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(query).encode())
    digest.update(b"\0")
    digest.update(body)
    return etag(kind, digest.hexdigest())


def _matches(request: web.Request, tag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if header.strip() == "*":
        return True
    wanted = tag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == wanted for t in header.split(","))


def not_modified(request: web.Request, tag: str) -> web.Response | None:
    """A 304 when the client already holds `tag`; None when it needs the answer."""
    if not _matches(request, tag):
        return None
    return web.Response(status=304, headers={"ETag": tag, "Cache-Control": "no-cache"})


def tagged(response: web.Response, tag: str) -> web.Response:
    """The answer, carrying its tag; clients must revalidate before reusing it."""
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = "no-cache"
    return response


def accepts_gzip(request: web.Request) -> bool:
    """True when Accept-Encoding lists gzip (or *) without q=0."""
    for item in request.headers.get("Accept-Encoding", "").lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def gzipped(body: bytes) -> bytes:
    """`body` in gzip's format, as Content-Encoding: gzip sends it."""
    packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    return packer.compress(body) + packer.flush()


def json_bytes(request: web.Request, body: bytes, packed: bytes | None) -> web.Response:
    """JSON answer bytes, sent as they were compressed beforehand when the client takes gzip."""
    if packed is not None and accepts_gzip(request):
        response = web.Response(body=packed, content_type="application/json", charset="utf-8")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = web.Response(body=body, content_type="application/json", charset="utf-8")
    response.headers["Vary"] = "Accept-Encoding"
    return response


@web.middleware
async def gzip_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Compress JSON answers of a useful size when the client accepts gzip."""
    response = await handler(request)
    if (
        isinstance(response, web.Response)
        and response.content_type == "application/json"
        and isinstance(response.body, bytes)
    ):
        response.headers["Vary"] = "Accept-Encoding"
        if (
            len(response.body) >= GZIP_FROM_BYTES
            and "Content-Encoding" not in response.headers
            and accepts_gzip(request)
        ):
            response.enable_compression(web.ContentCoding.gzip)
    return response
