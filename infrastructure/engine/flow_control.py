"""Putting flow control together from settings: in memory, or shared through PostgreSQL."""

from __future__ import annotations

from infrastructure.engine.clock import SYSTEM_CLOCK, Clock
from infrastructure.flow.config import FlowConfig
from infrastructure.flow.control import FlowControl
from infrastructure.flow.ledger import MemoryLedger
from infrastructure.flow.ledger_postgres import PostgresLedger
from infrastructure.settings import Settings, parse_limits


def flow_config(settings: Settings) -> FlowConfig:
    """Flow control as REGFLOW_API_* and the per-process call bound configure it."""
    return FlowConfig(
        max_in_flight=settings.api_max_in_flight,
        rate_per_s=settings.api_rate_per_s,
        limits=parse_limits(settings.api_limits),
        local_max=max(settings.max_concurrent_calls, settings.api_max_in_flight or 0),
        lease_seconds=settings.lease_seconds,
    )


def open_flow(settings: Settings, worker_id: str, clock: Clock = SYSTEM_CLOCK) -> FlowControl:
    """Shared through PostgreSQL when anything is counted across workers; else in memory."""
    config = flow_config(settings)
    if not (settings.is_postgres and config.shared):
        return FlowControl(config, clock, MemoryLedger(config, clock.monotonic))
    ledger = PostgresLedger(settings, config, worker_id)
    return FlowControl(config, clock, ledger, ledger.in_thread)
