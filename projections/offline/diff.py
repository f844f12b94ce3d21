"""Compare two copies of the views row by row and field by field."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from projections.database import Database
from projections.schema import Schema

JSON_FIELDS = frozenset({"restaurant", "counts", "progress", "data"})
MISSING = "<row>"


@dataclass(frozen=True)
class Difference:
    """One way a live view differs from the log: which view, which row, which field."""

    view: str
    key: str
    field: str
    live: Any
    rebuilt: Any

    def __str__(self) -> str:
        return f"{self.view} {self.key} {self.field}: live={self.live!r} rebuilt={self.rebuilt!r}"


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: json.loads(v) if k in JSON_FIELDS and isinstance(v, str) else v for k, v in row.items()
    }


KeyOf = Callable[[dict[str, Any]], str]
KEYS: dict[str, tuple[KeyOf, KeyOf]] = {
    "job_progress": (lambda r: r["job_id"], lambda r: r["job_id"]),
    "batch_summaries": (lambda r: r["batch_id"], lambda r: r["batch_id"]),
    "job_timeline": (lambda r: f"{r['job_id']}#{r['version']}", lambda r: r["job_id"]),
}


def read_rows(
    db: Database, schema: Schema, view: str, where: str = "", params: tuple[Any, ...] = ()
) -> dict[str, dict[str, Any]]:
    """Every row of one view, decoded, by its key."""
    key_of = KEYS[view][0]
    rows = db.fetch(f"SELECT * FROM {schema.view_tables[view]} {where}", params)
    return {key_of(r): _decoded(r) for r in rows}


def compare_rows(
    view: str,
    live: dict[str, dict[str, Any]],
    rebuilt: dict[str, dict[str, Any]],
    skip: Iterable[str] = (),
) -> list[Difference]:
    """Differences between two copies of a view, ignoring rows owned by aggregates in `skip`."""
    skipped = set(skip)
    owner = KEYS[view][1]
    differences: list[Difference] = []
    for key in sorted(set(live) | set(rebuilt)):
        mine, theirs = live.get(key), rebuilt.get(key)
        if owner(mine or theirs or {}) in skipped:
            continue
        if mine is None or theirs is None:
            differences.append(Difference(view, key, MISSING, mine is not None, theirs is not None))
            continue
        differences += [
            Difference(view, key, name, mine.get(name), theirs.get(name))
            for name in sorted(set(mine) | set(theirs))
            if _normal(mine.get(name)) != _normal(theirs.get(name))
        ]
    return differences


def _normal(value: Any) -> Any:
    """The same value whatever the driver returned (SQLite and PostgreSQL integers alike)."""
    if isinstance(value, bool):
        return int(value)
    return value
