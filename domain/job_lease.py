"""A job's lease as the lease table showed it: what tells a call in flight, whose worker still
holds the job, from an orphaned one, whose worker is gone and will record nothing more.

The table and its clock belong to the engine; the domain only compares what it was shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LeaseSeen:
    """A job's lease as the lease table showed it at `seen_at` (on the table's clock): the
    worker holding it and until when; `holder` None: no worker holds it."""

    holder: str | None = None
    expires_at: datetime | None = None
    seen_at: datetime | None = None

    def live_for(self, worker_id: str | None) -> bool:
        """Whether `worker_id` held this lease, unexpired, when it was seen."""
        if worker_id is None or self.holder != worker_id:
            return False
        if self.expires_at is None or self.seen_at is None:
            return False
        return self.expires_at >= self.seen_at


NO_LEASE = LeaseSeen()
"""What the table shows of a job no worker holds (never leased, or its lease given back)."""
