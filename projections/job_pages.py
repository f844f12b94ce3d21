"""A batch's jobs a page at a time (keyset position, status filter, name search), and the tags
that say whether a batch's or a job's reads changed."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from projections.database import Database
from projections.pages import PagePosition
from projections.queries import SUMMARY_COLUMNS, summary_of
from projections.schema import Schema


@dataclass(frozen=True)
class JobPage:
    """One page of a batch's jobs, where it ends when more follow (None at the end), and how
    many match."""

    jobs: list[dict[str, Any]]
    last: PagePosition | None
    total: int


def like_pattern(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, its own % and _ taken literally. The store
    lowers it as it lowers what it is matched against (Python's lower() and the store's LOWER
    differ: `İ` is two characters to one and one to the other)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_forms(q: str) -> list[str]:
    """The texts a search for `q` looks for: `q` without the blanks around it (or, when it is
    nothing but blanks, as sent: `\\n` finds a name with a line break in it), each way Unicode
    writes the same text (composed, decomposed) and its compatibility form (`ＲＥＳＴ` finds
    `REST`), so that a search finds a name however either was typed."""
    term = q.strip() or q
    forms = [term, *(unicodedata.normalize(form, term) for form in ("NFC", "NFD", "NFKC"))]
    return list(dict.fromkeys(forms))


class JobPageQueries:
    """Paged, filtered reads of a batch's jobs, and change tags of batches and jobs."""

    db: Database
    schema: Schema

    def job_page(
        self,
        batch_id: str,
        limit: int,
        after: PagePosition | None = None,
        status: str | None = None,
        q: str | None = None,
    ) -> JobPage:
        """Jobs of a batch in creation order after a position, of one status, whose name or
        external id contains `q` (case-insensitive)."""
        where, params = self._filters(batch_id, status, q)
        total = self.db.fetch(f"SELECT COUNT(*) AS n FROM {self.schema.jobs} WHERE {where}", params)
        if after is not None:
            where += " AND (created_at > ? OR (created_at = ? AND job_id > ?))"
            params = (*params, after.created_at, after.created_at, after.id)
        rows = self.db.fetch(
            f"SELECT {SUMMARY_COLUMNS} FROM {self.schema.jobs} WHERE {where}"
            " ORDER BY created_at, job_id LIMIT ?",
            (*params, int(limit) + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        end = PagePosition(rows[-1]["created_at"], rows[-1]["job_id"]) if rows and more else None
        return JobPage([summary_of(r) for r in rows], end, int(total[0]["n"]))

    def _blocked_count(self) -> str:
        if self.db.is_postgres:
            return "COALESCE((counts::jsonb ->> 'blocked')::int, 0)"
        return "COALESCE(json_extract(counts, '$.blocked'), 0)"

    def _filters(
        self, batch_id: str, status: str | None, q: str | None
    ) -> tuple[str, tuple[Any, ...]]:
        where, params = "batch_id = ?", [str(batch_id)]
        if status == "blocked":
            where += f" AND {self._blocked_count()} > 0"
        elif status:
            where += " AND status = ?"
            params.append(status)
        if q:
            matches = []
            for form in search_forms(q):
                matches += [
                    "LOWER(COALESCE(name, '')) LIKE LOWER(?) ESCAPE '\\'",
                    "LOWER(COALESCE(external_id, '')) LIKE LOWER(?) ESCAPE '\\'",
                ]
                params += [like_pattern(form)] * 2
            where += f" AND ({' OR '.join(matches)})"
        return where, tuple(params)

    def batch_tag(self, batch_id: str) -> str:
        """Changes whenever the batch or any of its jobs changes (versions only grow)."""
        rows = self.db.fetch(
            f"SELECT COUNT(*) AS n, COALESCE(SUM(version), 0) AS v FROM {self.schema.jobs}"
            " WHERE batch_id = ?",
            (str(batch_id),),
        )
        head = self.db.fetch(
            f"SELECT version FROM {self.schema.batches} WHERE batch_id = ?", (str(batch_id),)
        )
        batch_version = head[0]["version"] if head else 0
        return f"b{batch_version}.{rows[0]['n']}.{rows[0]['v']}"
