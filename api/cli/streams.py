"""Where a command's output goes, and what it says when that output cannot be written: a full
disk or a device that takes no writes is one `error:` line naming the output and exit 2, a
reader that went away is a quiet exit 141, and neither leaves the interpreter a failing flush.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO, cast

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

STANDARD_OUTPUT = "standard output"
STANDARD_ERROR = "standard error"
CLOSED_PIPE = 128 + signal.SIGPIPE


class OutputFailed(OSError):
    """A write to a command's output failed; `filename` names the output (`standard output`,
    or the file's path), which the write error itself does not."""


class _Diagnostics:
    """Whether a write to standard error failed during this command."""

    lost = False


def diagnostics_lost() -> bool:
    """True when something written to standard error during this command was lost (a full
    disk, a closed descriptor): its diagnostics, never its answer, which is on standard output."""
    return _Diagnostics.lost


def _lose_diagnostics() -> None:
    _Diagnostics.lost = True


class NamedWrites(io.FileIO):
    """A descriptor written to, whose write errors name the output it is; a closed pipe stays
    a BrokenPipeError, the one way a command ends on it."""

    def __init__(self, fd: int, shown_as: str, closefd: bool) -> None:
        super().__init__(fd, "w", closefd=closefd)
        self.shown_as = shown_as

    def write(self, data: ReadableBuffer, /) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            return self.failed(exc, memoryview(data).nbytes)

    def failed(self, exc: OSError, size: int) -> int:
        """What a write of `size` bytes that failed with `exc` answers."""
        raise OutputFailed(exc.errno, exc.strerror, self.shown_as) from None


class DiagnosticWrites(NamedWrites):
    """Standard error: its failed writes are dropped (`diagnostics_lost` says so), since a
    command that lost a progress line has still done its work, and must not end part way as
    one that could not run."""

    def failed(self, exc: OSError, size: int) -> int:
        _lose_diagnostics()
        return size


def text_output(
    fd: int,
    shown_as: str,
    closefd: bool = True,
    line_buffering: bool = False,
    encoding: str = "utf-8",
    errors: str = "strict",
    writes: type[NamedWrites] = NamedWrites,
) -> TextIO:
    """Text written through a buffer to `fd`; a failed write raises OutputFailed naming
    `shown_as` (or, through `DiagnosticWrites`, is dropped)."""
    raw = writes(fd, shown_as, closefd)
    return io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=encoding, errors=errors, line_buffering=line_buffering
    )


class ClosedOutput(io.TextIOBase):
    """A standard stream the process was started without (`regflow batches >&-`): a write
    fails as a write to a closed descriptor does, naming the stream."""

    def __init__(self, shown_as: str) -> None:
        super().__init__()
        self.shown_as = shown_as

    def write(self, text: str, /) -> int:
        raise OutputFailed(errno.EBADF, "it is closed", self.shown_as)


class ClosedDiagnostics(ClosedOutput):
    """Standard error, which the process was started without: what is written to it is lost,
    as `DiagnosticWrites` loses what it cannot write."""

    def write(self, text: str, /) -> int:
        _lose_diagnostics()
        return len(text)


def _named(
    stream: TextIO | None,
    shown_as: str,
    writes: type[NamedWrites] = NamedWrites,
    closed: type[ClosedOutput] = ClosedOutput,
) -> TextIO:
    """`stream` written through a buffer of its own whose write errors name it; `stream` itself
    when it is no descriptor (a test's capture). What it cannot encode (a restaurant's name on
    an ASCII terminal) is written as backslash escapes, not refused."""
    if stream is None:
        return cast(TextIO, closed(shown_as))
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return stream
    # Unbuffered (PYTHONUNBUFFERED), a write that a closed pipe takes only in part is cut
    # short without an error, and the command would end as if its reader had read everything:
    # these streams are always buffered, line by line where the original was unbuffered.
    unbuffered = isinstance(getattr(stream, "buffer", None), io.FileIO)
    return text_output(
        fd,
        shown_as,
        closefd=False,
        line_buffering=unbuffered or getattr(stream, "line_buffering", False),
        encoding=getattr(stream, "encoding", None) or "utf-8",
        errors="backslashreplace",
        writes=writes,
    )


@contextmanager
def command_streams() -> Iterator[None]:
    """Standard output and error, for the time of one command, as streams whose failed writes
    say which they are; the originals are put back afterwards."""
    stdout, stderr = sys.stdout, sys.stderr
    _Diagnostics.lost = False
    sys.stdout = _named(stdout, STANDARD_OUTPUT)
    sys.stderr = _named(stderr, STANDARD_ERROR, DiagnosticWrites, ClosedDiagnostics)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def point_at_devnull(stream: TextIO) -> None:
    """Send what is left of `stream`, and anything written to its descriptor later (the
    interpreter's last flush), to /dev/null, where it cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    except (AttributeError, ValueError, io.UnsupportedOperation):
        pass
    finally:
        os.close(devnull)


def quiet_on_closed_pipe() -> int:
    """The reader went away (`regflow events J --json | head -1`): end quietly with the code a
    shell reports for a program that SIGPIPE ended (`yes | head -1`), whatever the command was
    doing, so that no command's own code (1: not found, tampered) is said by mistake.

    Python ignores SIGPIPE, so a write to the closed pipe raises BrokenPipeError instead;
    standard output is pointed at /dev/null so the interpreter's last flush cannot fail again.
    """
    point_at_devnull(sys.stdout)
    return CLOSED_PIPE
