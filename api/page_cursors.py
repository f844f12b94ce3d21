"""Page cursors: where a page ends, sealed with a tag over that position and the listing it
pages, keyed by a secret of the store; a cursor is read back only on the listing it was given
out for, by any process of the same store."""

from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from api.errors import BadRequest
from projections.job_pages import like_pattern, search_forms
from projections.pages import PagePosition

TAG_BYTES = 16  # 128 bits of HMAC-SHA256: a forger's only way in is to guess them
ID_BYTES = 16
REFUSED = "after: not a cursor this API gave out"


class Listing(Protocol):
    """What a cursor pages: no two listings share their words."""

    def words(self) -> bytes: ...


@dataclass(frozen=True)
class BatchListing:
    """What a page of batches pages: an organisation's batches, newest first."""

    organisation_id: str

    def words(self) -> bytes:
        return json.dumps(["batches", self.organisation_id]).encode()


@dataclass(frozen=True)
class JobListing:
    """What a page of a batch's jobs pages: the batch, its status filter and its search."""

    batch_id: str
    status: str | None = None
    q: str | None = None

    def words(self) -> bytes:
        """The listing as its query applies it, as one JSON array (no two listings share it;
        searches that differ only in case, or in how Unicode writes them, are one listing)."""
        search = sorted({like_pattern(f.lower()) for f in search_forms(self.q)}) if self.q else None
        return json.dumps(["jobs", self.batch_id, self.status, search]).encode()


class PageCursors:
    """Seals page positions into cursors, and opens only the cursors it sealed."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def cursor(self, listing: Listing, position: PagePosition | None) -> str | None:
        """The cursor of the page after `position` in `listing` (None: no page follows)."""
        if position is None:
            return None
        body = UUID(position.id).bytes + position.created_at.encode()
        raw = self._tag(listing, body) + body
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def position(self, listing: Listing, cursor: str | None) -> PagePosition | None:
        """Where `cursor` ends a page of `listing` (None: no cursor); 400 unless this API gave
        it out for that listing."""
        if cursor is None:
            return None
        raw = _decoded(cursor)
        tag, body = raw[:TAG_BYTES], raw[TAG_BYTES:]
        if len(body) <= ID_BYTES or not hmac.compare_digest(tag, self._tag(listing, body)):
            raise BadRequest("Invalid query parameters", [REFUSED])
        return PagePosition(body[ID_BYTES:].decode(), str(UUID(bytes=body[:ID_BYTES])))

    def _tag(self, listing: Listing, body: bytes) -> bytes:
        return hmac.digest(self._key, listing.words() + body, "sha256")[:TAG_BYTES]


def _decoded(cursor: str) -> bytes:
    """The bytes of a cursor spelt as this API spells them (URL-safe base64, unpadded); empty
    for any other text, so that no second spelling of a cursor is read as the cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        return b""
    return raw if base64.urlsafe_b64encode(raw).decode().rstrip("=") == cursor else b""
