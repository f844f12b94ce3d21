"""A stand-in for the library's PostgreSQL datastore that changes some of its methods and
passes everything else through to it."""

from __future__ import annotations

from typing import Any

from eventsourcing import postgres as es_pg


class DatastoreAround:
    """The datastore, but for the methods a subclass defines."""

    def __init__(self, datastore: es_pg.PostgresDatastore) -> None:
        self._datastore = datastore

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)
