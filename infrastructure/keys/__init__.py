"""Envelope keys: the wrapped-key table, the keyring, and field-level sealing of events."""
