"""The schema lock of a store that lives in one process's memory is nothing on disk; that of a
SQLite file is a file beside it, held by one holder at a time."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from infrastructure.persistence import schema_lock
from infrastructure.settings import Settings


@pytest.mark.parametrize(
    "url", ["sqlite:///:memory:", "sqlite:///file:regflow-x?mode=memory&cache=shared"]
)
def test_a_store_in_memory_leaves_no_file(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with schema_lock(Settings(_env_file=None, database_url=url)):
        pass
    assert os.listdir(tmp_path) == []


def test_a_sqlite_file_is_locked_by_one_holder_at_a_time(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'regflow.db'}")
    inside: list[str] = []
    entered = threading.Event()

    def second() -> None:
        entered.set()
        with schema_lock(settings):
            inside.append("second")

    with schema_lock(settings):
        inside.append("first")
        other = threading.Thread(target=second)
        other.start()
        entered.wait(5)
        other.join(0.3)  # it waits for the lock held here
        assert inside == ["first"] and other.is_alive()
    other.join(5)
    assert inside == ["first", "second"]
    assert (tmp_path / "regflow.db-schema-lock").exists()
