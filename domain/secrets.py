"""Which values are secrets, and how they are hidden wherever they are shown."""

from __future__ import annotations

from typing import Any

REDACTED = "***"
SECRET_KEY_PARTS = ("password", "secret", "token", "api_key", "apikey", "service_key", "pin")


def is_secret_key(key: str) -> bool:
    """True for a field name that holds a secret (passwords, tokens, keys)."""
    lowered = key.lower().replace("-", "_")
    return any(part in lowered for part in SECRET_KEY_PARTS)


def redact(value: Any) -> Any:
    """A copy of `value` with every secret field replaced by a mask."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if is_secret_key(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
