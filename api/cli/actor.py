"""Who the command line acts as: `cli:<user>` in every event it records."""

from __future__ import annotations

import getpass


def cli_actor() -> str:
    """The actor of commands run from this shell."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"
