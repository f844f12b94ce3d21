"""`regflow serve` under tracemalloc: SIGUSR1 writes a snapshot to $REGFLOW_TRACE_DIR.

The soak benchmark runs the server this way with `--trace`, snapshots it after chosen batches
and prints the allocation sites that grew between the first and the last snapshot.
"""

from __future__ import annotations

import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

FRAMES = 12


def _dump(signum: int, frame: FrameType | None) -> None:
    folder = Path(os.environ["REGFLOW_TRACE_DIR"])
    number = len(list(folder.glob("*.snapshot")))
    snapshot = tracemalloc.take_snapshot()
    snapshot.dump(str(folder / f"{number:02d}.part"))
    (folder / f"{number:02d}.part").rename(folder / f"{number:02d}.snapshot")


def main() -> int:
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, _dump)
    from api.cli import main as cli

    sys.argv = ["regflow", *sys.argv[1:]]
    return int(cli() or 0)


if __name__ == "__main__":
    sys.exit(main())
