"""Logging of a long-running process: readable lines, or JSON lines (REGFLOW_LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TextIO

from pydantic import ValidationError

from infrastructure.log_scrub import ScrubSecrets
from infrastructure.printable import escape_control
from infrastructure.settings import LogSettings, unread_variables


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


class TextLines(logging.Formatter):
    """One line a record, its message's control characters escaped: no value a line quotes (an
    operator's reason, an error the registration API sent) can forge a line of its own or
    reach the terminal as an escape sequence. A traceback below it keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  # logging's name
        record.message = escape_control(record.message)
        return super().formatMessage(record)


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


def configure_logging_first() -> None:
    """The log as the environment asks for it, before the other settings are read: a refused
    configuration is then said as the log says things (text when the format itself is
    refused, and the refusal names it)."""
    try:
        configure_logging(LogSettings())
    except ValidationError:
        configure_logging(LogSettings(log_format="text"))
    for said in unread_variables(os.environ):
        logging.getLogger("regflow").warning("%s", escape_control(said))


def configure_logging(settings: LogSettings) -> None:
    """INFO and above on standard error, as text or JSON lines; Python's warnings go to the
    log too, so that with JSON lines every line is one."""
    handler = StandardError()
    if settings.log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(TextLines("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(ScrubSecrets())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def logs_json_lines() -> bool:
    """Whether the process's log is written as JSON lines (REGFLOW_LOG_FORMAT=json)."""
    return any(isinstance(h.formatter, JsonLines) for h in logging.getLogger().handlers)


def announce(text: str, stream: TextIO | None = None, **fields: object) -> None:
    """Tell whoever started the process `text` (standard output unless `stream`): as it is,
    or, when the log is JSON lines, as one JSON line of the log's shape whose message is the
    text's first line, with `fields`. What is announced is meant to be read (a development
    key, an address): it is not masked as the log is."""
    out = stream or sys.stdout
    if logs_json_lines():
        record = logging.makeLogRecord(
            {"name": "regflow", "levelno": logging.INFO, "levelname": "INFO"}
        )
        record.msg, record.fields = text.splitlines()[0].removesuffix(":"), fields
        text = JsonLines().format(record)
    print(text, file=out, flush=True)
