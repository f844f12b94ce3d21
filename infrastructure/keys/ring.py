"""Envelope keys: the passphrase wraps the store's key and one data key per organisation.

The passphrase (REGFLOW_SECRET_KEY) only derives the key-encryption key; every key that
encrypts data is random, kept wrapped in `regflow_keys`, and unwrapped in memory. Rotating
the passphrase re-wraps those keys and rewrites no event; erasing an organisation forgets
its data keys, so the fields sealed with them can never be read again.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.exceptions import RegflowError
from infrastructure.keys.table import KeyRow, KeyTable

SALT, STORE = "salt", "store"
# How soon a running process sees a key another process destroyed: an entry is trusted for
# this long from before the read that found it, so a read begun after a key was destroyed
# serves every look-up from then on.
KEY_CACHE_SECONDS = 2.0
_LEGACY_SALT = b"regflow: secrets at rest"


class WrongPassphrase(RegflowError):
    """The passphrase does not open this store's keys."""


def org_owner(organisation_id: str) -> str:
    return f"org:{organisation_id}"


def legacy_store_key(passphrase: str) -> bytes:
    """The key a store made before envelope keys derived straight from its passphrase."""
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode(), _LEGACY_SALT, 200_000)


@lru_cache(maxsize=8)
def key_encryption_key(passphrase: str, salt: bytes) -> AESGCM:
    return AESGCM(hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, 200_000))


def wrap(kek: AESGCM, row_id: str, key: bytes) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + kek.encrypt(nonce, key, row_id.encode())).decode()


def unwrap(kek: AESGCM, row_id: str, wrapped: str) -> bytes:
    """The key inside `wrapped`; InvalidTag when `kek` is not the one that wrapped it."""
    raw = base64.b64decode(wrapped)
    return kek.decrypt(raw[:12], raw[12:], row_id.encode())


def row_id(row: KeyRow) -> str:
    return f"{row.owner}#{row.generation}"


class Keyring:
    """The unwrapped keys of one process, read from `regflow_keys` and cached briefly."""

    def __init__(
        self, table: KeyTable, passphrase: str, source: str = "REGFLOW_SECRET_KEY"
    ) -> None:
        """`source`: where the passphrase came from, as a refusal names it (the variable, or
        the development key file read when it is unset)."""
        self.table = table
        self._passphrase = passphrase
        self._source = source
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, int], tuple[float, AESGCM | None]] = {}
        self._active: dict[str, tuple[float, int]] = {}
        # The keys this process has opened: a key's material never changes (a rotation wraps
        # the same key again), so a process started before a rotation keeps serving the
        # organisations whose keys it opened; a key destroyed since is dropped when its row
        # is read again, at most KEY_CACHE_SECONDS later.
        self._opened_keys: dict[tuple[str, int], AESGCM] = {}
        self._forgotten = 0  # how many times the cache was emptied: a read begun before is not kept
        self.kek: AESGCM | None = None

    def open_store_key(self) -> bytes:
        """The store's own key; made (or, for an old store, adopted) and wrapped on first use.

        Raises WrongPassphrase when the passphrase cannot open it, before anything is read."""
        self.table.create()
        with self.table.transaction() as cur:
            self.table.insert(cur, SALT, 0, base64.b64encode(os.urandom(16)).decode())
            salt = base64.b64decode(self.table.rows(cur, SALT)[0].wrapped or "")
            self.kek = key_encryption_key(self._passphrase, salt)
            stored = self.table.rows(cur, STORE)
            if not stored:
                key = self._adopted_or_new(cur)
                self.table.insert(cur, STORE, 0, wrap(self.kek, f"{STORE}#0", key))
                stored = self.table.rows(cur, STORE)
        try:
            return unwrap(self.kek, row_id(stored[0]), stored[0].wrapped or "")
        except InvalidTag:
            raise WrongPassphrase(
                f"{self._source} does not open this store's keys: it is not the passphrase "
                "they were wrapped with (after a change, run `regflow rotate-keys` with the old "
                "one in REGFLOW_OLD_SECRET_KEYS)"
            ) from None

    def _adopted_or_new(self, cur: Any) -> bytes:
        state = self.table.first_stored_event(cur)
        if state is None:
            return AESGCM.generate_key(256)
        key = legacy_store_key(self._passphrase)
        try:
            AESGCM(key).decrypt(state[:12], state[28:] + state[12:28], None)
        except (InvalidTag, ValueError):
            raise WrongPassphrase(
                f"{self._source} does not decrypt this store's events: it is not the "
                "passphrase the store was created with"
            ) from None
        return key

    def data_key(self, organisation_id: str) -> tuple[int, AESGCM]:
        """The organisation's current data key (made at its first use) and its generation."""
        owner = org_owner(organisation_id)
        cached = self._active.get(owner)
        if cached and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
            key = self.key(organisation_id, cached[1])
            if key is not None:
                return cached[1], key
        began, forgotten = time.monotonic(), self._forgotten
        generation = self._current_generation(owner)
        self._keep(self._active, owner, (began, generation), forgotten)
        key = self.key(organisation_id, generation)
        if key is None:
            raise RuntimeError(f"the data key of {owner} vanished while it was being made")
        return generation, key

    def _current_generation(self, owner: str) -> int:
        with self.table.transaction(write=False) as cur:
            alive = [r for r in self.table.rows(cur, owner) if r.wrapped is not None]
        if alive:
            return alive[-1].generation
        with self._lock, self.table.transaction() as cur:
            rows = self.table.rows(cur, owner)
            alive = [r for r in rows if r.wrapped is not None]
            if alive:
                return alive[-1].generation
            generation = rows[-1].generation + 1 if rows else 1
            self._opened(self.table.rows(cur, STORE)[0])  # a key wrapped now must open later
            assert self.kek is not None
            row_id = f"{owner}#{generation}"
            self.table.insert(cur, owner, generation, wrap(self.kek, row_id, os.urandom(32)))
            return generation

    def destroy(self, organisation_id: str, actor: str) -> int:
        """Forget the material of the organisation's data keys; how many were alive.

        Refused (WrongPassphrase) before anything is destroyed when the keys were re-wrapped
        since this process started: it could not then read the log to scrub the read models.
        """
        with self.table.transaction() as cur:
            self._opened(self.table.rows(cur, STORE)[0])
            destroyed = self.table.destroy(cur, org_owner(organisation_id), actor)
        self.forget_cached()
        with self._lock:
            owner = org_owner(organisation_id)
            for slot in [s for s in self._opened_keys if s[0] == owner]:
                del self._opened_keys[slot]
        return destroyed

    def _opened(self, row: KeyRow) -> bytes:
        """The key in `row`; WrongPassphrase when the keys were re-wrapped since this start."""
        assert self.kek is not None and row.wrapped is not None
        try:
            return unwrap(self.kek, row_id(row), row.wrapped)
        except InvalidTag:
            raise WrongPassphrase(
                "The store's keys were re-wrapped (regflow rotate-keys) since this process "
                "started: restart it with the current REGFLOW_SECRET_KEY"
            ) from None

    def key(self, organisation_id: str, generation: int) -> AESGCM | None:
        """A data key by generation; None once it was destroyed (the organisation erased)."""
        slot = (org_owner(organisation_id), generation)
        cached = self._keys.get(slot)
        if cached and time.monotonic() - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        began, forgotten = time.monotonic(), self._forgotten
        with self.table.transaction(write=False) as cur:
            row = next(
                (r for r in self.table.rows(cur, slot[0]) if r.generation == generation), None
            )
        key = None
        if row is not None and row.wrapped is not None:
            key = self._opened_keys.get(slot) or AESGCM(self._opened(row))
        with self._lock:
            if key is None:
                self._opened_keys.pop(slot, None)
            elif self._forgotten == forgotten:
                self._opened_keys[slot] = key
        self._keep(self._keys, slot, (began, key), forgotten)
        return key

    def _keep(self, cache: dict[Any, Any], slot: Any, entry: Any, forgotten: int) -> None:
        """Cache what a read found, unless the cache was emptied since that read began."""
        with self._lock:
            if self._forgotten == forgotten:
                cache[slot] = entry

    def forget_cached(self) -> None:
        """Read every key again from the table (another process destroyed some)."""
        with self._lock:
            self._forgotten += 1
            self._keys.clear()
            self._active.clear()

    def destroyed_keys(self) -> dict[str, int]:
        """How many data keys of each organisation were destroyed so far."""
        with self.table.transaction(write=False) as cur:
            counts = self.table.destroyed_counts(cur)
        prefix = org_owner("")
        return {o.removeprefix(prefix): n for o, n in counts.items() if o.startswith(prefix)}
