"""Instructions a command executes, counted by valgrind's callgrind.

The same code with the same inputs executes the same instructions whatever else the machine
does, where its wall time and even its CPU time move by a third with the neighbours' load.
A benchmark that runs its work twice under callgrind, with more work and with less, gets the
cost of the difference alone: start-up and set-up subtract out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def command_under_callgrind(out: Path, module: str, *args: str) -> list[str]:
    """`python -m module args...` run under callgrind, its count written to `out`."""
    return [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        module,
        *args,
    ]


def counted(stderr: str) -> int:
    """The instructions callgrind says it collected, from what it printed."""
    found = re.search(r"Collected\s*:\s*(\d+)", stderr)
    if found is None:
        raise RuntimeError("callgrind printed no count:\n" + stderr[-2000:])
    return int(found.group(1))


def instructions(module: str, *args: str) -> int:
    """Instructions executed by `python -m module args...`, every thread of it counted."""
    with tempfile.TemporaryDirectory() as tmp:
        command = command_under_callgrind(Path(tmp) / "callgrind.out", module, *args)
        env = os.environ | {"PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        return counted(done.stderr)
