"""A logging filter that masks credentials embedded in log lines, whatever logged them."""

from __future__ import annotations

import logging

from domain.secrets import REDACTED, Sensitivity, name_sensitivity, redact, scrub_text


class ScrubSecrets(logging.Filter):
    """Masks Bearer tokens, JWTs, PEM blocks and `secret=value` pairs in a record's message,
    and secrets in the structured fields that JSON lines carry."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {k: _field(k, v) for k, v in fields.items()}
        return True


def _field(name: str, value: object) -> object:
    if value is None or value == "":
        return value
    if name_sensitivity(str(name)) is Sensitivity.SECRET:
        return REDACTED
    return scrub_text(value) if isinstance(value, str) else redact(value)
