"""The process's log handler writes to standard error as it is now, not as it was."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest

from infrastructure.logs import configure_logging
from infrastructure.settings import Settings


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    yield
    root.handlers[:] = kept
    root.setLevel(level)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_record_goes_to_the_current_standard_error_after_the_first_is_closed(
    root_handlers: None, monkeypatch: pytest.MonkeyPatch, log_format: str
) -> None:
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging(Settings(_env_file=None, log_format=log_format))
    logging.getLogger("log-stream-test").info("one")
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("log-stream-test").info("two")
    assert "two" in second.getvalue() and "one" not in second.getvalue()
