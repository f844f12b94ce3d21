"""A logging filter that masks credentials embedded in log lines, whatever logged them."""

from __future__ import annotations

import logging

from domain.secrets import scrub_text


class ScrubSecrets(logging.Filter):
    """Masks Bearer tokens, JWTs, PEM blocks and `secret=value` pairs in a record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def scrub_log_handlers(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of `logger` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, ScrubSecrets) for f in handler.filters):
            handler.addFilter(ScrubSecrets())
