"""Ctrl-C at any moment of a command, its first ones too (while the command line is still
loading), ends it with exit 130 and no traceback; an interrupt that comes after the command has
done its work leaves its exit 0 and its whole output.

Moments are told in the command's own CPU time, not the clock's: on a busy machine the clock
runs on while the process waits its turn, and an interrupt sent 50 ms after the start could
still find the interpreter starting up (importing `site`), before any of regflow's code runs,
where what Python does is Python's. Each interrupt is sent once the process has used the CPU
time a bare interpreter needs to start, and a little more."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REGFLOW = str(Path(sys.executable).with_name("regflow"))
TICK = 1 / os.sysconf("SC_CLK_TCK")


def cpu_of_children(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """The CPU time `command` used, and how it ended."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used, done


def cpu_used(pid: int) -> float | None:
    """The CPU time the process `pid` has used so far (None once it has ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] == "Z":
        return None
    return (int(fields[11]) + int(fields[12])) * TICK


def interrupted(after_cpu: float) -> subprocess.CompletedProcess[str]:
    """`regflow version`, sent SIGINT once it has used `after_cpu` seconds of CPU time."""
    command = subprocess.Popen(
        [REGFLOW, "version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        used = cpu_used(command.pid)
        if used is None or used >= after_cpu:
            break
        time.sleep(0.001)
    command.send_signal(signal.SIGINT)
    out, err = command.communicate(timeout=60)
    return subprocess.CompletedProcess(command.args, command.returncode, out, err)


@pytest.fixture(scope="module")
def moments() -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """The CPU time a bare interpreter takes to start (with a tick's margin), the CPU time a
    whole `regflow version` takes, and its output."""
    started, _ = cpu_of_children([sys.executable, "-c", "pass"])
    life, whole = cpu_of_children([REGFLOW, "version"])
    return started + 2 * TICK, max(life, started + 4 * TICK), whole


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5, 0.8])
def test_an_interrupt_while_loading_ends_with_130_and_no_traceback(
    share: float, moments: tuple[float, float, subprocess.CompletedProcess[str]]
) -> None:
    started, life, _ = moments
    ended = interrupted(started + share * (life - started))
    assert "Traceback" not in ended.stderr, ended.stderr
    assert ended.returncode in (0, 130), ended.stderr  # 0: it had ended before the interrupt came


def test_an_interrupt_at_any_moment_of_a_command_s_life_either_stops_it_or_changes_nothing(
    moments: tuple[float, float, subprocess.CompletedProcess[str]],
) -> None:
    """The interrupts are spread from the command's loading to past its end, where the
    interpreter shuts down: none of them ends it by the signal, prints a traceback or cuts the
    output of a command that did its work."""
    started, life, whole = moments
    for step in range(16):
        ended = interrupted(started + (life - started) * (0.4 + step / 12))
        assert "Traceback" not in ended.stderr, ended.stderr
        assert ended.returncode in (0, 130), (ended.returncode, ended.stderr)
        if ended.returncode == 0:
            assert ended.stdout == whole.stdout


DROPPED_WHERE_IT_CAME = """
import sys
from api.launch import interrupt_again
sys.unraisablehook = interrupt_again
class Finalised:
    def __del__(self):
        raise KeyboardInterrupt
import time
try:
    Finalised()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pass
    print("ran on")
except KeyboardInterrupt:
    print("interrupted")
"""


def test_an_interrupt_python_cannot_raise_where_it_came_is_raised_at_the_next_point() -> None:
    """The interrupt that CI once saw printed and dropped, raised inside a callback from
    pydantic's compiled code while the command line loaded: Python reports an exception in a
    finaliser the same way, so one stands in for it here, at a moment the test chooses."""
    ended = subprocess.run(
        [sys.executable, "-c", DROPPED_WHERE_IT_CAME], capture_output=True, text=True, timeout=60
    )
    assert ended.stdout == "interrupted\n", ended.stderr
    assert "Traceback" not in ended.stderr and "Exception ignored" not in ended.stderr
