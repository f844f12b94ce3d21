"""The `regflow` command's entry point: an interrupt while the command line is still loading
(Ctrl-C in its first moments) ends it as an interrupt during a command does, exit 130 and no
traceback; an interrupt after the command has done its work changes nothing."""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType

INTERRUPTED = 130
# How long an interrupt Python could not raise waits before it is sent again: time enough for
# the code that dropped it to return to code that can raise it.
SENT_AGAIN_AFTER = 0.01


def interrupt_again(unraisable: sys.UnraisableHookArgs) -> None:
    """An interrupt that arrived where Python cannot raise it (a finaliser, a callback from
    compiled code) would be printed with its traceback and dropped, the command running on: it
    is sent again a moment later, to be raised where the command can be stopped. Every other
    exception is said as Python says it."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        again = threading.Timer(SENT_AGAIN_AFTER, signal.raise_signal, (signal.SIGINT,))
        again.daemon = True
        again.start()
    else:
        sys.__unraisablehook__(unraisable)


def _end_while_loading(signum: int, frame: FrameType | None) -> None:
    """Nothing has been done while the command line loads, so an interrupt ends the process
    at once: no exception, which an import could swallow or print."""
    os._exit(INTERRUPTED)


def main() -> int:
    """Load the command line and run the command the arguments name; its exit code."""
    sys.unraisablehook = interrupt_again
    interruptible = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if interruptible:  # not when started with interrupts ignored (in the background, say)
        signal.signal(signal.SIGINT, _end_while_loading)
    try:
        from api.cli import main as run

        if interruptible:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        code = run()
    except KeyboardInterrupt:
        code = INTERRUPTED
    # The command is over: an interrupt from here on has nothing to stop. Ignored, it can
    # neither raise in the entry point's own code nor, once the interpreter has put the default
    # action back while it shuts down, end the process by the signal before its output is out.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return code
