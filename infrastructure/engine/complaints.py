"""How the engine's background loops say that their work failed, without saying it twice a
second."""

from __future__ import annotations

import logging

from domain.exceptions import RegflowError
from infrastructure.engine.clock import Clock
from infrastructure.errors import describe_exception, is_transient_exception

log = logging.getLogger("regflow.engine")


def complain(what: str, exc: Exception, repeats: int = 0) -> None:
    """Log a failure of background work: a transient one briefly, a refusal that says what is
    wrong (a passphrase that no longer opens the keys) in its words, anything else loudly;
    `repeats`: how many times more it failed so since it was last logged."""
    again = f" (and {repeats} times more since it was last said)" if repeats else ""
    if is_transient_exception(exc):
        log.warning("%s failed: %s%s", what, describe_exception(exc), again)
    elif isinstance(exc, RegflowError):
        log.error("%s failed: %s%s", what, exc.message, again)
    else:
        log.error("%s failed with an error that is not transient%s", what, again, exc_info=exc)


REPEAT_QUIET_SECONDS = 60.0
MOST_KINDS_KEPT = 100


class Complaints:
    """Failures of a loop that runs every second or so: the first of a kind logged, the same
    again not before REPEAT_QUIET_SECONDS have passed on `clock`, then with how many times it
    failed meanwhile. A worker whose passphrase no longer opens the keys (after `rotate-keys`)
    said so in a traceback twice a second until it was restarted."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._said: dict[tuple[str, str], tuple[float, int]] = {}

    def __call__(self, what: str, exc: Exception) -> None:
        kind = (what, f"{type(exc).__name__}: {exc}"[:300])
        now = self.clock.monotonic()
        said = self._said.get(kind)
        if said is not None and now - said[0] < REPEAT_QUIET_SECONDS:
            self._said[kind] = (said[0], said[1] + 1)
            return
        if len(self._said) >= MOST_KINDS_KEPT:
            self._said.clear()
        self._said[kind] = (now, 0)
        complain(what, exc, said[1] if said is not None else 0)
