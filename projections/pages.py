"""Where a page of a listing ends, for the listings read a page at a time after a cursor."""

from __future__ import annotations

from typing import NamedTuple


class PagePosition(NamedTuple):
    """Where a page ends: its last row's creation time (as stored) and id (a job's or a
    batch's)."""

    created_at: str
    id: str
