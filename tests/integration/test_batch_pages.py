"""Property: reading an organisation's batches a page at a time after each page's end shows every
batch that was there when the first page was read exactly once, newest first, whatever batches
are added between pages (at any creation time, ties included) and whatever the page size."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.database import Database
from projections.pages import PagePosition
from projections.queries import ViewQueries
from projections.schema import Schema
from tests.conftest import store_settings, unique_org

LIVE = Schema()
# A handful of creation times, so that batches often share one.
TIMES = [f"2026-12-06T06:0{m}:00.000000+00:00" for m in range(4)]


@pytest.fixture(scope="module")
def queries(module_database_url: str) -> Iterator[ViewQueries]:
    """The views' batch table on a database of its own, filled by hand."""
    db = Database(store_settings(module_database_url))
    try:
        LIVE.create(db)
        yield ViewQueries(db, LIVE)
    finally:
        db.close()


def add(queries: ViewQueries, org: str, created_at: str) -> str:
    batch_id = str(uuid.uuid4())
    conn = queries.db.connect()
    try:
        with queries.db.transaction(conn) as cur:
            cur.execute(
                queries.db.sql(
                    f"INSERT INTO {LIVE.batches} (batch_id, organisation_id, name, created_by,"
                    " created_at, total, started, version, updated_at)"
                    " VALUES (?, ?, 'b', 'user:t', ?, 0, 0, 1, ?)"
                ),
                (batch_id, org, created_at, created_at),
            )
    finally:
        conn.close()
    return batch_id


def newest_first(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(created_at, id) pairs in the list's order: newest first, ties by id."""
    return sorted(sorted(rows, key=lambda r: r[1]), key=lambda r: r[0], reverse=True)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.lists(st.sampled_from(TIMES), min_size=0, max_size=9),
    limit=st.integers(1, 4),
    added=st.lists(st.lists(st.sampled_from([*TIMES, "2026-12-06T07:00:00+00:00"]), max_size=3)),
)
def test_paging_after_each_page_shows_every_batch_once_whatever_is_added(
    queries: ViewQueries, first: list[str], limit: int, added: list[list[str]]
) -> None:
    org = unique_org()
    there = [(t, add(queries, org, t)) for t in first]
    seen: list[tuple[str, str]] = []
    after: PagePosition | None = None
    for page_number in range(len(first) + sum(map(len, added)) + 2):
        page = queries.batch_page(org, limit, after=after)
        assert len(page.batches) <= limit
        seen += [(b["created_at"], b["id"]) for b in page.batches]
        if page.last is None:
            break
        assert page.last == PagePosition(*seen[-1])
        after = page.last
        for t in added[page_number] if page_number < len(added) else []:
            add(queries, org, t)
    else:
        pytest.fail("the pages did not end")
    ids = [i for _, i in seen]
    assert len(ids) == len(set(ids)), "a batch was shown twice"
    assert {i for _, i in there} <= set(ids), "a batch there from the start was not shown"
    assert seen == newest_first(seen), "the pages together are not newest first"


def test_the_last_full_page_says_no_page_follows(queries: ViewQueries) -> None:
    org = unique_org()
    for t in TIMES[:2]:
        add(queries, org, t)
    first = queries.batch_page(org, 1)
    assert first.last is not None
    second = queries.batch_page(org, 1, after=first.last)
    assert len(second.batches) == 1 and second.last is None
    assert queries.batch_page(org, 2).last is None
