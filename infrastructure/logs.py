"""Logging of a long-running process: readable lines, or JSON lines (REGFLOW_LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from infrastructure.log_scrub import ScrubSecrets
from infrastructure.settings import Settings


class JsonLines(logging.Formatter):
    """One JSON document per record: time, level, logger, message, and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{k: v for k, v in getattr(record, "fields", {}).items() if v is not None},
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to standard error as it is when each record is written, not as it was when the
    handler was made: a process that points sys.stderr elsewhere (a CLI command run inside
    another program) does not leave a handler writing to a stream since closed."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        return None


def configure_logging(settings: Settings) -> None:
    """INFO and above on standard error, as text or JSON lines."""
    handler = StandardError()
    if settings.log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(ScrubSecrets())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
