"""Builds every view into scratch tables from the log, shared among processes on a long log."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from multiprocessing import get_context, parent_process
from typing import Any

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.offline.shares import Share, build_share
from projections.schema import Schema

PARALLEL_FROM = 50_000  # below this many events another process costs more than it saves
MAX_PROCESSES = 4
Progress = Callable[[int, int], None]


class BuildFailed(Exception):
    """A helper process of a build failed or died: the build is incomplete."""


class Orphaned(Exception):
    """The process that started this helper is gone: nobody will use what it builds."""


def process_count(events: int) -> int:
    """How many processes build a log of `events`: one per core, on a long log."""
    if events < PARALLEL_FROM:
        return 1
    return max(1, min(MAX_PROCESSES, os.cpu_count() or 1))


def _help(
    settings: Settings,
    schema: Schema,
    stop: int,
    index: int,
    count: int,
    pipe: Any,
    names: tuple[str, ...] | None = None,
) -> None:
    """A helper's life: start up, say so, build the share it is dealt, say it is done."""
    parent = parent_process()

    def check_parent(_position: int) -> None:
        if parent is not None and not parent.is_alive():
            raise Orphaned

    try:
        app, db = Registrations(settings), Database(settings)
        try:
            pipe.send("ready")
            split = pipe.recv()
            share = Share(index, count, split)
            build_share(app, db, schema, stop, share, split, check_parent, names)
        finally:
            db.close()
            app.close()
        pipe.send("done")
    except (Orphaned, EOFError, BrokenPipeError):
        return  # the build it was part of was stopped: quietly stop too
    except Exception as exc:
        with contextlib.suppress(OSError):
            pipe.send(f"build process {index} failed: {type(exc).__name__}: {exc}")


class Helper:
    """A process building one share of the views beside this one."""

    def __init__(
        self,
        settings: Settings,
        schema: Schema,
        stop: int,
        index: int,
        count: int,
        names: tuple[str, ...] | None = None,
    ):
        context = get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(
            target=_help,
            args=(settings, schema, stop, index, count, theirs, names),
            name=f"regflow-view-build-{index}",
            daemon=True,
        )
        self._process.start()
        theirs.close()
        self._ready = False

    def ready(self) -> bool:
        """True once the process has started up and waits for its share."""
        if not self._ready and self._pipe.poll():
            self._expect("ready")
            self._ready = True
        return self._ready

    def start_after(self, position: int) -> None:
        """Deal it the aggregates created after `position`."""
        self._pipe.send(position)

    def finish(self) -> None:
        """Wait until its share is built."""
        self._expect("done")

    def _expect(self, word: str) -> None:
        try:
            message = self._pipe.recv()
        except EOFError:
            self._process.join(5)
            code = self._process.exitcode
            raise BuildFailed(f"{self._process.name} died (exit code {code})") from None
        if message != word:
            raise BuildFailed(str(message))

    def close(self) -> None:
        """Stop the process if it is still there (it was dealt nothing, or the build failed)."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._pipe.close()


def build(
    settings: Settings,
    app: Registrations,
    db: Database,
    schema: Schema,
    stop: int,
    progress: Progress | None = None,
    names: tuple[str, ...] | None = None,
) -> int:
    """Fill `schema`'s tables of the views `names` (every view by default) from the log up to
    `stop`; returns `stop`.

    On a long log, helper processes start beside this one, which begins at once with every
    aggregate; once they are all ready, the aggregates created from then on are dealt out by
    id among all the processes. None waits for another to start up, and the helpers read
    the log only from where they joined.
    """
    count = process_count(stop)
    helpers = [Helper(settings, schema, stop, index, count, names) for index in range(1, count)]
    share = Share(0, count)

    def between(position: int) -> None:
        if helpers and share.split is None and all(h.ready() for h in helpers):
            share.split = position
            for helper in helpers:
                helper.start_after(position)
        if progress:
            progress(position, stop)

    try:
        build_share(app, db, schema, stop, share, between=between, names=names)
        if share.split is not None:
            for helper in helpers:
                helper.finish()
    finally:
        for helper in helpers:
            helper.close()
    if progress:
        progress(stop, stop)
    return stop
