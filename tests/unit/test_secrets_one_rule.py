"""One rule for free text: whatever shows a text (an answer, a read model, the timeline, the
CLI, an export, the events answer) masks in it exactly what the log masks."""

from __future__ import annotations

import json
import logging
from typing import Any

from hypothesis import example, given, reject, settings
from hypothesis import strategies as st

from api.cli.audit import event_record
from domain.exceptions import InvalidInput
from domain.secrets import REDACTED, Sensitivity, redact, redact_event, scrub_text
from infrastructure.log_scrub import ScrubSecrets
from infrastructure.logs import JsonLines
from projections.folds.jobs import document_of, job_state, replay
from projections.folds.timeline import timeline_entry
from tests.unit.test_folds import Story

# Pieces that make the texts the scrubber decides on: names of secrets and of other things,
# the ways a value is given to a name, actors, and words around them.
PIECES = st.sampled_from(
    [
        *("password", "token", "Token", "api_key", "apiKey", "X-Service-Key", "key", "pin"),
        *("secret", "passwd", "session_cookie", "keyboard", "shipping", "reason", "redo"),
        *("user", "cli", "HTTP", "400", "2026-12-05T09:27:50+00:00", "key:dev", "user:alice"),
        *("=", ":", ": ", " = ", '":"', "'", '"', " ", ",", ";", "&", "***", "-", "_", "."),
        *("hunter22", "REASONLEAK", "sk_live_ABC123", "Bearer", "Bearer sk_live_ABCDEF123456"),
        *("ftp://", "https://", "://", "@", "/", "ftp.example.com/site", "x-access-token"),
    ]
)
TEXTS = st.one_of(
    st.lists(PIECES, max_size=8).map("".join),
    st.text(max_size=40),
    st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=6).map("".join),
)
EXAMPLES = (
    "redo: token=REASONLEAK",
    "HTTP 400: password: hunter22",
    "by key:dev, reason: password=hunter22",
    "completed",
    "deploy to ftp://deploy:FTPPASS-123@ftp.example.com/site failed",
    "https://x-access-token:key=hunter22@ftp.example.com/site password=hunter22",
)


def logged(text: str) -> tuple[str, Any]:
    """What the log writes of `text`: as its message, and as a field of a JSON line."""
    record = logging.LogRecord("regflow.operations", logging.INFO, "f", 1, text, None, None)
    record.fields = {"reason": text}
    ScrubSecrets().filter(record)
    return record.getMessage(), json.loads(JsonLines().format(record))["reason"]


def with_examples(test: Any) -> Any:
    for text in EXAMPLES:
        test = example(text=text)(test)
    return test


@settings(max_examples=400, deadline=None)
@given(text=TEXTS)
@with_examples
def test_every_shown_document_masks_a_text_as_the_log_does(text: str) -> None:
    log = scrub_text(text)
    assert logged(text) == (log, log)
    document = {
        "reason": text,
        "error": text,
        "result": {"note": text, "items": [text]},
        "sub_steps": {"menuImport": {"error": text, "reason": text}},
    }
    assert redact(document) == {
        "reason": log,
        "error": log,
        "result": {"note": log, "items": [log]},
        "sub_steps": {"menuImport": {"error": log, "reason": log}},
    }
    assert redact_event({"reason": text, "error": text}) == {"reason": log, "error": log}


@settings(max_examples=400, deadline=None)
@given(text=TEXTS)
@with_examples
def test_what_is_shown_is_shown_again_unchanged(text: str) -> None:
    once = scrub_text(text)
    assert scrub_text(once) == once
    assert redact(redact({"reason": text})) == {"reason": once}


@settings(max_examples=60, deadline=None)
@given(reason=TEXTS, error=TEXTS)
@example(reason="redo: token=REASONLEAK", error="HTTP 400: password: hunter22")
def test_a_jobs_folds_timeline_and_events_show_reasons_and_errors_as_the_log_does(
    reason: str, error: str
) -> None:
    story = Story().running().succeed("cloudwaitressAccount").fail("codeGeneration", error)
    story.do(lambda j: j.cancel("engine", "stopped"))
    try:
        story.do(lambda j: j.edit([("codeGeneration", "completed", None)], "user:u-2", reason))
    except InvalidInput:
        reject()  # a reason that cannot be recorded (blank, control characters)
    edited = next(e for e in story.events if type(e).__name__ == "ManualStatusSet")
    failed = next(e for e in story.events if type(e).__name__ == "SubStepFailed")
    entry, record = timeline_entry(edited), event_record(edited)
    assert (entry["reason"], entry["actor"]) == (scrub_text(reason) or None, "user:u-2")
    assert (record["reason"], record["actor"]) == (scrub_text(reason) or None, "user:u-2")
    assert timeline_entry(failed)["data"]["error"] == scrub_text(error)
    assert event_record(failed)["data"]["error"] == scrub_text(error)
    failing = replay(story.events[: story.events.index(failed) + 1])
    shown = document_of(failing)["phases"]["phase1"]["sub_steps"]["codeGeneration"]
    assert shown["error"] == scrub_text(error)
    assert job_state(failing)["sub_step_progress"]["phases"]["phase1"]["sub_steps"][
        "codeGeneration"
    ]["error"] == scrub_text(error)


def test_the_reported_texts_are_masked_and_actors_kept() -> None:
    assert scrub_text("redo: token=REASONLEAK") == f"redo: token={REDACTED}"
    assert redact({"reason": "redo: token=REASONLEAK", "actor": "key:dev"}) == {
        "reason": f"redo: token={REDACTED}",
        "actor": "key:dev",
    }
    assert redact({"error": "HTTP 400: password: hunter22", "by": "user:alice"}) == {
        "error": f"HTTP 400: password: {REDACTED}",
        "by": "user:alice",
    }
    plain = {"status": "completed", "error": "HTTP 400: bad request", "at": "2026-12-05T09:27:50"}
    assert redact(plain) == plain


def test_a_text_declared_public_is_not_judged_by_the_names_inside_it() -> None:
    url = "/api/registration-batches/b-1/stream?stream_token=abc123"
    declared = {"url": Sensitivity.PUBLIC}
    assert redact({"url": url}, declared) == {"url": url}
    assert redact({"url": url}) == {
        "url": f"/api/registration-batches/b-1/stream?stream_token={REDACTED}"
    }
    assert redact({"url": f"{url} Bearer sk_live_ABCDEF123456"}, declared) == {
        "url": f"{url} {REDACTED}"
    }
