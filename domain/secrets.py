"""Which values are secrets, and how they are hidden wherever they are shown."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

REDACTED = "***"
SECRET_KEY_PARTS = ("password", "secret", "token", "api_key", "apikey", "service_key", "pin")


@lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True for a field name that holds a secret (passwords, tokens, keys)."""
    lowered = key.lower().replace("-", "_")
    return any(part in lowered for part in SECRET_KEY_PARTS)


_NESTED = (dict, list, tuple)


def redact(value: Any) -> Any:
    """A copy of `value` with every secret field replaced by a mask."""
    if isinstance(value, dict):
        return {
            k: (
                v
                if v is None or v == ""
                else REDACTED
                if is_secret_key(str(k))
                else redact(v)
                if isinstance(v, _NESTED)
                else v
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) if isinstance(v, _NESTED) else v for v in value]
    return value
