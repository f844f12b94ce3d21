"""After a burst of large allocations, a server process keeps little freed memory in glibc."""

from __future__ import annotations

import argparse
import ctypes
import platform
import subprocess
import sys
from pathlib import Path

import pytest

import api.cli as cli
from api.cli import build_parser
from tests.conftest import TEST_SECRET

BURST = """
import ctypes, sys
from infrastructure.allocator import return_freed_memory
if sys.argv[1] == "fixed":
    assert return_freed_memory()
class Info(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(n, ctypes.c_size_t) for n in names.split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
big = bytearray(8 << 20)
del big
blocks = [bytearray(256 << 10) for _ in range(24)]
del blocks
print(libc.mallinfo2().fordblks)
"""

glibc = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc 2.33 or later only",
)


def free_kept(policy: str) -> int:
    """Bytes glibc holds free after an 8 MB block and 6 MB of 256 kB blocks come and go."""
    run = subprocess.run([sys.executable, "-c", BURST, policy], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return int(run.stdout)


@glibc
def test_freed_blocks_go_back_to_the_system() -> None:
    """By default glibc raises its thresholds after the 8 MB block and keeps the smaller
    blocks' 6 MB free; with the server's policy it keeps under 1 MB."""
    assert free_kept("default") > 4 << 20
    assert free_kept("fixed") < 1 << 20


RUN_UNTIL_STOPPED = {"serve", "work", "simulator"}


def test_every_command_that_runs_until_stopped_takes_the_policy() -> None:
    """A server or worker holds the policy; a command that answers and exits does not need it."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        defaults = sub._defaults
        if "handler" in defaults:
            assert defaults["runs_until_stopped"] is (name in RUN_UNTIL_STOPPED), name


@pytest.mark.parametrize(
    ("argv", "applied"),
    [(["work", "--until-idle", "--timeout", "20"], [True]), (["version"], [])],
    ids=["a worker applies it before it runs", "a command that answers leaves it alone"],
)
def test_the_cli_applies_the_policy_by_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], applied: list[bool]
) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(cli, "return_freed_memory", lambda: calls.append(True) or True)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'regflow.db'}")
    monkeypatch.setenv("REGFLOW_SECRET_KEY", TEST_SECRET)
    assert cli.main(argv) == 0
    assert calls == applied
