"""Idempotency keys of requests: the key's form, and the keyed digest of a request's content
that tells a repeat of a request from other content sent under its key."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from domain.exceptions import InvalidInput
from domain.limits import reads_as_credential

MAX_IDEMPOTENCY_KEY = 255


def checked_idempotency_key(key: str) -> str:
    """An idempotency key as given, if it is one: 1-255 printable characters that do not read
    as a credential. Such a key would be shown masked in one place and as it is in another
    (the log keeps it, and a repeat of it is told which key it reused): one that reads as a
    credential (`password=...`, a token) is refused before anything is done."""
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidInput(
            "Invalid Idempotency-Key",
            [f"Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} printable characters"],
        )
    if reads_as_credential(key):
        raise InvalidInput(
            "Invalid Idempotency-Key",
            [
                "Idempotency-Key: reads as a credential (a secret's name given a value, a "
                "token); send a key that says no secret, such as a UUID"
            ],
        )
    return key


def keyed_digest(key: bytes, content: Any) -> str:
    """A keyed digest of a request's content as parsed (keyed, since the content may hold a
    password, which a bare hash would let be guessed)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
