"""Flow control settings: a global cap, a rate, per-sub-step caps and the adaptive bounds."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.plan import PLAN


def parse_limits(text: str | None) -> dict[str, int]:
    """`menuImport=2,uploadImages=2` as a mapping; a clear ValueError for anything else."""
    limits: dict[str, int] = {}
    for raw in (text or "").split(","):
        item = raw.strip()
        if not item:
            continue
        key, sign, value = (part.strip() for part in item.partition("="))
        if not sign or not key:
            raise ValueError(f"{item!r} is not of the form subStep=N")
        if key not in PLAN.keys:
            known = ", ".join(PLAN.keys)
            raise ValueError(f"unknown sub-step {key!r} (known: {known})")
        if key in limits:
            raise ValueError(f"sub-step {key!r} is given twice")
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"the limit of {key} must be a whole number >= 1, got {value!r}")
        limits[key] = int(value)
    return limits


@dataclass(frozen=True)
class FlowConfig:
    """What bounds calls to the registration API; no cap means the limit adapts."""

    max_in_flight: int | None = None
    rate_per_s: float | None = None
    limits: dict[str, int] = field(default_factory=dict)
    local_max: int = 32
    lease_seconds: float = 30.0
    poll_seconds: float = 0.05
    initial_limit: int = 4

    @property
    def shared(self) -> bool:
        """Whether anything must be counted across workers (cap, rate or per-sub-step caps)."""
        return bool(self.max_in_flight or self.rate_per_s or self.limits)

    @property
    def adaptive(self) -> bool:
        return self.max_in_flight is None
