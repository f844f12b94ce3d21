"""The store's whole-event cipher: the library's AES-GCM cipher with its key set up once.

The library's `AESCipher` builds an `AESGCM` object from the key for every event it encrypts
or decrypts; this one builds it once. The bytes written and read are the same.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment


class StoreCipher(AESCipher):
    """AES-GCM with a 96-bit nonce, stored as nonce, tag, ciphertext (the library's layout)."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self._aead = AESGCM(self.key)

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = AESCipher.random_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext, None)
        return nonce + sealed[-16:] + sealed[:-16]

    def decrypt(self, ciphertext: bytes) -> bytes:
        if len(ciphertext) < 28:
            if len(ciphertext) < 12:
                raise ValueError("Damaged cipher text: invalid nonce length")
            raise ValueError("Damaged cipher text: invalid tag length")
        try:
            return self._aead.decrypt(ciphertext[:12], ciphertext[28:] + ciphertext[12:28], None)
        except InvalidTag as e:
            raise ValueError("Invalid cipher tag") from e
