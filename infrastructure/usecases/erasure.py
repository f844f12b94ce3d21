"""Erasing an organisation: its data keys destroyed, the erasure recorded in the log."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass

from domain.erasure import OrganisationErasure
from domain.exceptions import InvalidInput, NotFound
from infrastructure.keys.ring import org_owner
from infrastructure.settings import Settings
from infrastructure.sqlite_wal import truncate_wal, wal_path
from infrastructure.usecases.store import RegistrationStore


@dataclass(frozen=True)
class ErasurePlan:
    """What an erasure of one organisation would forget."""

    organisation_id: str
    data_keys: int
    jobs: int
    batches: int


def erasure_plan(
    app: RegistrationStore, organisation_id: str, jobs: int, batches: int
) -> ErasurePlan:
    """How many live data keys, jobs and batches the organisation has."""
    if not organisation_id.strip():
        raise InvalidInput("An organisation id is needed")
    with app.key_table.transaction(write=False) as cur:
        rows = app.key_table.rows(cur, org_owner(organisation_id))
    if not rows and not jobs and not batches:
        raise NotFound(
            f"Organisation {organisation_id!r} has no data in this store: nothing to erase"
        )
    alive = sum(1 for row in rows if row.wrapped is not None)
    return ErasurePlan(organisation_id, alive, jobs, batches)


def erase_organisation(app: RegistrationStore, plan: ErasurePlan, actor: str) -> int:
    """Destroy the organisation's data keys and record the erasure; the log position reached.

    Run again after a failure, it destroys what is left and records the erasure again. On a
    SQLite file the keys' old bytes stay in its write-ahead log until `forget_on_disk`."""
    if not app.settings.is_postgres:
        # Builds of SQLite without SECURE_DELETE leave a destroyed key's bytes in the page.
        with app.key_table.transaction(write=False) as cur:
            cur.execute("PRAGMA secure_delete = ON")
    destroyed = app.keyring.destroy(plan.organisation_id, actor)
    record = OrganisationErasure.record(
        plan.organisation_id, actor, destroyed, plan.jobs, plan.batches
    )
    return app.store(record).position


def forget_on_disk(settings: Settings) -> list[str]:
    """On a SQLite file, once the read models are scrubbed: drop the pages that held the
    erased rows from the file (VACUUM) and from its write-ahead log (truncated); what could
    not be done, to tell the operator.

    Run it after the scrub, never before: a checkpoint copies the log's pages into the file,
    and pages scrubbed later leave their old bytes there until the next one. On PostgreSQL
    nothing is done: the server's own WAL, its archives and replicas, and freed space in its
    tables until autovacuum, keep old row versions beyond regflow's reach."""
    if settings.is_postgres or settings.is_in_memory:
        return []
    warnings = []
    with closing(sqlite3.connect(settings.sqlite_path, timeout=30, isolation_level=None)) as conn:
        try:
            conn.execute("VACUUM")
        except sqlite3.OperationalError as exc:  # another process kept the file busy
            warnings.append(
                f"{settings.sqlite_path} could not be compacted ({exc}): the erased rows' "
                "old pages stay in it until `VACUUM` runs on it"
            )
    if not truncate_wal(settings.sqlite_path):
        warnings.append(
            f"{wal_path(settings.sqlite_path)} could not be truncated (another process kept "
            "reading the database): it may hold the erased data until a checkpoint empties it"
        )
    return warnings
