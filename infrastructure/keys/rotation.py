"""Key rotation: every live key re-wrapped under the current passphrase, no event rewritten."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import replace

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infrastructure.keys.ring import SALT, WrongPassphrase, key_encryption_key, row_id, unwrap, wrap
from infrastructure.keys.table import KeyRow, KeyTable


def rotate(table: KeyTable, passphrase: str, old_passphrases: Sequence[str]) -> int:
    """Re-wrap every live key under `passphrase`; how many were re-wrapped.

    Each key is unwrapped with whichever of the passphrases opens it; if one opens with
    none of them, nothing is changed."""
    table.create()
    with table.transaction() as cur:
        salt_rows = table.rows(cur, SALT)
        if not salt_rows:
            return 0
        salt = base64.b64decode(salt_rows[0].wrapped or "")
        keks = [key_encryption_key(p, salt) for p in (passphrase, *old_passphrases) if p]
        new_kek = keks[0]
        rewrapped: list[KeyRow] = []
        for row in table.rows(cur):
            if row.owner == SALT or row.wrapped is None:
                continue
            key = _unwrap_with_any(keks, row)
            rewrapped.append(replace(row, wrapped=wrap(new_kek, row_id(row), key)))
        table.rewrap(cur, rewrapped)
        return len(rewrapped)


def _unwrap_with_any(keks: Sequence[AESGCM], row: KeyRow) -> bytes:
    for kek in keks:
        try:
            return unwrap(kek, row_id(row), row.wrapped or "")
        except InvalidTag:
            continue
    raise WrongPassphrase(
        f"No passphrase given opens the key of {row.owner}: put the passphrase it was "
        "wrapped with in REGFLOW_OLD_SECRET_KEYS (comma-separated, or a JSON list of strings); "
        "nothing was changed"
    )
