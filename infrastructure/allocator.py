"""The C allocator's policy for a long-running server: glibc keeps no more than a little free
memory per arena, where by default it lets each thread's arena hold megabytes freed by a burst.

glibc raises its mmap and trim thresholds each time it frees a large mapped block (up to 32 and
64 MB), so after a large transient allocation every arena keeps that much free memory, and RSS
steps up batch after batch. Fixed thresholds turn that off, as `MALLOC_MMAP_THRESHOLD_` and
`MALLOC_TRIM_THRESHOLD_` would, for the process that calls this once at start.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
FREE_KEPT = 128 * 1024  # glibc's default thresholds, held fixed


def return_freed_memory(limit: int = FREE_KEPT) -> bool:
    """Fix glibc's mmap and trim thresholds at `limit` bytes; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, limit)) and bool(mallopt(M_TRIM_THRESHOLD, limit))
