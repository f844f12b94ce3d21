"""Reading the old system's export file: a regular file, read no further than its limit."""

from __future__ import annotations

import os
import stat

from domain.exceptions import InvalidInput

LIMIT_SETTING = "REGFLOW_MAX_BATCH_BYTES"
"""The limit of a legacy export is a batch upload's: an export is a batch of jobs."""


def read_export_file(path: str, limit: int) -> str:
    """The text of the export at `path`; InvalidInput when it is not a regular file (a FIFO
    would wait for a writer, a device such as /dev/zero never ends) or holds more than
    `limit` bytes; OSError or UnicodeDecodeError when it cannot be read as UTF-8 text."""
    # O_NONBLOCK: opening a FIFO would otherwise wait for a writer before fstat could say it
    # is one. It changes nothing for a regular file.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            raise InvalidInput("not a regular file: give the export saved as a file")
        if found.st_size > limit:
            raise InvalidInput(_too_large(limit))
        raw = _read_at_most(descriptor, limit + 1)  # the file may have grown since fstat
    finally:
        os.close(descriptor)
    if len(raw) > limit:
        raise InvalidInput(_too_large(limit))
    return raw.decode("utf-8-sig")


def _read_at_most(descriptor: int, size: int) -> bytes:
    """Up to `size` bytes, to the end of the file: one read returns at most about 2 GiB."""
    chunks: list[bytes] = []
    while size > 0 and (chunk := os.read(descriptor, min(size, 1 << 30))):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> str:
    return f"larger than the limit of {limit:,} bytes (set by {LIMIT_SETTING})"
