"""Flow control settings: a global cap, a rate, per-sub-step caps and the adaptive bounds."""

from __future__ import annotations

from dataclasses import dataclass, field


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
