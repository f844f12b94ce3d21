"""Every command the API and CLI offer: the use cases of each module, on one store."""

from __future__ import annotations

from infrastructure.usecases.audit import AuditQueries
from infrastructure.usecases.batches import (
    BatchCommands,
    LegacyEntry,
    StartOutcome,
    validated_restaurant,
)
from infrastructure.usecases.editing import EditingCommands, EditOutcome
from infrastructure.usecases.running import RunningCommands

__all__ = ["EditOutcome", "LegacyEntry", "Registrations", "StartOutcome", "validated_restaurant"]


class Registrations(BatchCommands, RunningCommands, EditingCommands, AuditQueries):
    """Every command the API and CLI offer, each one load, decide, save."""
