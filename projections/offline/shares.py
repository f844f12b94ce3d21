"""One process's share of building the views into scratch tables: which aggregates, and the
fold of the log that fills their rows."""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from infrastructure.usecases.registrations import Registrations
from projections.catalogue import build_views
from projections.database import Database
from projections.schema import Schema

CHUNK = 5000


class Share:
    """Which aggregates one of `count` processes folds. Up to the log position `split` every
    aggregate is the first process's; those created after it are dealt out by their id."""

    def __init__(self, index: int = 0, count: int = 1, split: int | None = None) -> None:
        self.index, self.count, self.split = index, count, split
        self._late: set[int] = set()

    def owns(self, notification: Any) -> bool:
        if self.split is None or notification.id <= self.split:
            return self.index == 0
        key = notification.originator_id.int
        if notification.originator_version == 1:
            self._late.add(key)
        if key in self._late:
            return key % self.count == self.index
        return self.index == 0


@contextmanager
def fewer_collections(young: int = 50_000) -> Iterator[None]:
    """Collect garbage less often while a build keeps thousands of folded jobs alive: the
    collector would otherwise walk them all again and again (a fifth of a build's time)."""
    before = gc.get_threshold()
    gc.set_threshold(young, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def read_ahead(app: Registrations, start: int, stop: int) -> Iterator[Sequence[Any]]:
    """Notifications after `start` up to `stop` in chunks; the next is read while one is used."""

    def read(after: int) -> Sequence[Any]:
        return app.recorder.select_notifications(
            start=after, limit=CHUNK, stop=stop, inclusive_of_start=False
        )

    if start >= stop:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="view-build-reader") as reader:
        pending = reader.submit(read, start)
        while chunk := pending.result():
            if chunk[-1].id < stop:
                pending = reader.submit(read, chunk[-1].id)
            yield chunk
            if chunk[-1].id >= stop:
                return


def build_share(
    app: Registrations,
    db: Database,
    schema: Schema,
    stop: int,
    share: Share | None = None,
    start: int = 0,
    between: Callable[[int], None] | None = None,
    names: Collection[str] | None = None,
) -> None:
    """Fill `schema`'s tables of the views `names` (all by default) with the rows of `share`'s
    aggregates from the log after `start` up to `stop`; `between` hears the position reached
    after each chunk."""
    share = share or Share()
    views = [v for v in build_views(app, deferred=True) if names is None or v.name in names]
    conn = db.connect()
    try:
        with fewer_collections():
            for notifications in read_ahead(app, start, stop):
                events = [app.mapper.to_domain_event(n) for n in notifications if share.owns(n)]
                with db.transaction(conn) as cur:
                    for view in views:
                        view.apply(db, cur, schema, events)
                if between:
                    between(notifications[-1].id)
            with db.transaction(conn) as cur:
                for view in views:
                    view.flush(db, cur, schema)
    finally:
        conn.close()
