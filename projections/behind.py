"""Which jobs and batches a batch read shows (one batch's, or an organisation's) the views are
behind on, loaded from the log, asked one of two ways, each bounded:

- by the log since the views' position, when it holds a few events past it (the views run, a
  moment behind the writes): those events say which aggregates changed;
- by each aggregate the read shows, when it holds more (the views' writer is held up): the
  views' version of each beside its latest in the log (`projections.shown`), so a read costs
  what it shows, not how far behind the views are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.batch import BATCH_TOPIC, RegistrationBatch
from infrastructure.usecases.bulk import load_many
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.snapshots import fold_events
from projections.log_reads import IDS_PER_QUERY, Changed, LogTable
from projections.schema import Schema
from projections.shown import Shown, ShownVersions

# How many events past the views' position a read looks at before it asks per aggregate:
# grouping them costs about what asking a 1,000-job batch's versions does (a few ms), and
# finding that there are more costs under one.
FEW_EVENTS_BEHIND = 1000
# How many batches' organisations are kept (a few MB): those created while the views are held
# up are each loaded once to learn it, not by every read of an organisation's batches.
KEPT_ORGANISATIONS = 20_000


class Behind:
    """The aggregates of a read the views are behind on, as the log holds them now."""

    def __init__(self, log: LogTable, schema: Schema, app: Registrations) -> None:
        self.log = log
        self.schema = schema
        self.app = app
        self.few_events = FEW_EVENTS_BEHIND
        self._organisations: dict[UUID, str] = {}  # of batches loaded (from the log)

    def of_read(self, batch_id: str | None, organisation_id: str | None) -> list[Any]:
        """The jobs and batches of the batch (or the organisation's) that the views have not
        applied every event of, loaded from the log; none when the views are up to date."""
        changed = self.log.changed_since_views(self.schema, self.few_events)
        if changed is None:
            wanted = self._by_version(batch_id, organisation_id)
        else:
            wanted = self._since_views(changed, batch_id, organisation_id) if changed else {}
        if not wanted:
            return []  # the views are up to date (one query), or hold all the read shows
        missing = [i for i, aggregate in wanted.items() if aggregate is None]
        loaded = [a for a in wanted.values() if a is not None]
        return loaded + list(load_many(self.app, missing, fold_events).values())

    def _by_version(self, batch_id: str | None, organisation_id: str | None) -> dict[UUID, Any]:
        """Those of the read whose views' version is behind the log's, by id, each with its
        aggregate when it was loaded already (else None): with their jobs, batches the views
        have no row of, and a batch's jobs the views lack (its batch loaded to name them)."""
        versions = ShownVersions(self.log, self.schema)
        if batch_id is not None:
            shown = versions.of_batch(batch_id)
        else:
            shown = versions.of_organisation(str(organisation_id))
        wanted: dict[UUID, Any] = {}
        for i, rows in shown.batches.items():
            wanted.update((UUID(j), None) for j, behind in rows.jobs.items() if behind)
            if rows.behind:
                wanted[UUID(i)] = None
        incomplete = [UUID(i) for i, rows in shown.batches.items() if not rows.complete]
        for batch in self._batches([*shown.unviewed, *incomplete], batch_id, organisation_id):
            wanted.update(dict.fromkeys(_unviewed_jobs(batch, shown)))
            viewed = shown.batches.get(str(batch.id))
            if viewed is None or viewed.behind:
                wanted[batch.id] = batch
        return wanted

    def _since_views(
        self, changed: dict[UUID, Changed], batch_id: str | None, organisation_id: str | None
    ) -> dict[UUID, Any]:
        """Those of the read among `changed`, by id, each with its aggregate when it was
        loaded already (else None)."""
        shows = _shows(batch_id, organisation_id)
        wanted: dict[UUID, Any] = {}
        ids = [str(i) for i in changed]
        for table, key in ((self.schema.jobs, "job_id"), (self.schema.batches, "batch_id")):
            for row in self._rows(table, key, ids):
                if shows(row["batch_id"], row["organisation_id"]):
                    wanted[UUID(row["id"])] = None
        new = [i for i, c in changed.items() if (c.created or "").startswith(BATCH_TOPIC)]
        for batch in self._batches(new, batch_id, organisation_id):
            wanted[batch.id] = batch
            wanted.update(dict.fromkeys(batch.job_ids))  # created with it, in one save
        return {i: wanted[i] for i in wanted if i in changed}

    def _batches(
        self, ids: list[UUID], batch_id: str | None, organisation_id: str | None
    ) -> list[RegistrationBatch]:
        """The batches of `ids` that the read shows, loaded (a batch's jobs are those it was
        created with, in one save: it never gains one). Those known to be another
        organisation's are not loaded again: a batch never changes its organisation."""
        if batch_id is not None:
            ids = [i for i in ids if str(i) == batch_id]
        else:
            known = self._organisations
            ids = [i for i in ids if known.get(i, organisation_id) == organisation_id]
        batches = [
            b
            for b in load_many(self.app, ids, fold_events).values()
            if isinstance(b, RegistrationBatch)
        ]
        if len(self._organisations) + len(batches) > KEPT_ORGANISATIONS:
            self._organisations.clear()
        self._organisations.update((b.id, b.organisation_id) for b in batches)
        shows = _shows(batch_id, organisation_id)
        return [b for b in batches if shows(str(b.id), b.organisation_id)]

    def _rows(self, table: str, key: str, ids: list[str]) -> list[dict[str, Any]]:
        """Each of `ids` the table has a row of: its id, batch and organisation."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            marks = ", ".join("?" for _ in chunk)
            found += self.log.db.fetch(
                f"SELECT {key} AS id, batch_id, organisation_id FROM {table}"
                f" WHERE {key} IN ({marks})",
                chunk,
            )
        return found


def _shows(batch_id: str | None, organisation_id: str | None) -> Callable[[str, str], bool]:
    """Whether a read of the batch (or of the organisation's batches) shows a batch's rows."""

    def shows(batch: str, organisation: str) -> bool:
        return batch == batch_id if batch_id is not None else organisation == organisation_id

    return shows


def _unviewed_jobs(batch: RegistrationBatch, shown: Shown) -> list[UUID]:
    """The batch's jobs the views hold no row of (all of them when they hold no row of it)."""
    viewed = shown.batches.get(str(batch.id))
    return [j for j in batch.job_ids if viewed is None or str(j) not in viewed.jobs]
