"""What a conditional command requires of the job it changes: to stand at a version its
sender read, so that a change decided on a page since made stale is not made."""

from __future__ import annotations

from dataclasses import dataclass

from domain.exceptions import JobChanged


@dataclass(frozen=True)
class VersionsRead:
    """The versions of a job its sender had read; the job must stand at one of them. None
    known (a tag of another thing, or of another release) and no version will do."""

    versions: frozenset[int]

    def require(self, version: int) -> None:
        """Refuse, changing nothing, a job that stands at a version its sender did not read."""
        if version not in self.versions:
            raise JobChanged(version)
