"""The process's log: written to standard error as it is now, not as it was; with JSON lines,
every line written is one, warnings and announcements included."""

from __future__ import annotations

import io
import json
import logging
import sys
import warnings
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.logs import announce, configure_logging
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


@pytest.fixture
def warnings_kept() -> Iterator[None]:
    """Python's warnings as pytest has them, whatever the test (or an earlier one that
    configured the log) made of them."""
    with warnings.catch_warnings():
        logging.captureWarnings(False)
        yield
        logging.captureWarnings(False)


@pytest.mark.parametrize(
    "emit",
    [
        lambda: warnings.warn("a deprecated call", DeprecationWarning, stacklevel=1),
        lambda: warnings.warn("two\nlines", UserWarning, stacklevel=1),
        lambda: logging.getLogger("some.library").warning("a library's %s", "warning"),
        lambda: logging.getLogger("some.service").error("failed", exc_info=ValueError("no\nway")),
    ],
    ids=["deprecation", "multi-line warning", "library logger", "traceback"],
)
def test_with_json_lines_every_line_written_is_json(
    root_handlers: None,
    warnings_kept: None,
    monkeypatch: pytest.MonkeyPatch,
    emit: Callable[[], None],
) -> None:
    written = io.StringIO()
    monkeypatch.setattr(sys, "stderr", written)
    configure_logging(Settings(_env_file=None, log_format="json"))
    warnings.simplefilter("always")
    emit()
    lines = written.getvalue().splitlines()
    assert lines and all(isinstance(json.loads(line), dict) for line in lines), lines


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_announcement_is_its_text_or_one_json_line_with_its_fields(
    root_handlers: None, monkeypatch: pytest.MonkeyPatch, log_format: str
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    configure_logging(Settings(_env_file=None, log_format=log_format))
    announce("key (kept in /x):\n  k-1\n  send: Bearer k-1", out, api_key="k-1")
    if log_format == "text":
        assert out.getvalue() == "key (kept in /x):\n  k-1\n  send: Bearer k-1\n"
        return
    [line] = out.getvalue().splitlines()
    assert json.loads(line) | {"time": None} == {
        "time": None,
        "level": "INFO",
        "logger": "regflow",
        "message": "key (kept in /x)",
        "api_key": "k-1",
    }


@given(quoted=st.text())
def test_a_text_line_quoting_any_value_is_one_line_with_nothing_unprintable(quoted: str) -> None:
    """A reason or an error quoted into the text log cannot forge a line of its own, nor reach
    the terminal as an escape sequence: one record, one printable line."""
    root = logging.getLogger()
    kept, level, stderr = root.handlers[:], root.level, sys.stderr
    written = io.StringIO()
    try:
        sys.stderr = written
        configure_logging(Settings(_env_file=None, log_format="text"))
        logging.getLogger("log-stream-test").warning("edited: reason %s", quoted)
    finally:
        sys.stderr = stderr
        root.handlers[:] = kept
        root.setLevel(level)
    text = written.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1, text
    line = text.removesuffix("\n")
    assert line.isprintable() and len(line.splitlines()) == 1, line
