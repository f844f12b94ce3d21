"""Who the command line acts as: `cli:<user>` in every event it records."""

from __future__ import annotations

import getpass

from api.cli.failures import CannotRun
from domain.limits import identity_errors


def cli_actor() -> str:
    """The actor of commands run from this shell: `cli:` and the login name, which is an
    identity as every other (printable, reading as no credential: `USER='token=...'` would
    be recorded as a secret and shown masked). One that is not is refused (exit 2)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return "cli:unknown"
    if errors := identity_errors(user, "the login name (USER, LOGNAME)"):
        raise CannotRun("The login name cannot be recorded as who acted", errors)
    return f"cli:{user}"
