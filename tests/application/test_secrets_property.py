"""Property: wherever a config or an API result is stored, projected, answered, exported or
logged, no secret shows, and every value that is not secret shows where it is shown."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli.audit import event_record
from api.cli.audit_state import state_record
from api.presenters import batch_created, job_answer, ok
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.folds.batches import batch_row
from projections.folds.jobs import job_row, replay
from projections.folds.timeline import timeline_entry

_STORE = Registrations(
    Settings(
        _env_file=None,
        database_url=f"sqlite:///{Path(tempfile.mkdtemp()) / 'secrets.db'}",
        secret_key="property-test",
    )
)
SECRET_NAMES = (
    "serviceKey", "passwd", "access_key", "privateKey", "session_cookie", "Authorization",
    "pin", "apiToken", "clientSecret", "cvv", "otp", "credentials", "pass", "x-api-key",
)  # fmt: skip
PUBLIC_NAMES = ("toppings", "shipping", "keyboard", "turkey", "city", "note", "label", "opinion")
token = st.uuids().map(lambda u: u.hex[:16])


@dataclass
class Values:
    """The leaf values drawn for one example, by what they are."""

    secret: set[str] = field(default_factory=set)
    shown: set[str] = field(default_factory=set)


@st.composite
def leaves(draw: st.DrawFn) -> tuple[Any, set[str], set[str]]:
    """A leaf value (maybe in a list): its strings, and those shaped like credentials."""
    shape = draw(st.sampled_from(("plain", "plain", "bearer", "jwt")))
    raw = draw(token)
    text = {"plain": f"v{raw}", "bearer": f"Bearer b{raw}", "jwt": f"eyJ{raw}.j{raw}.s"}[shape]
    value: Any = [text] if draw(st.booleans()) else text
    return value, {text}, ({text} if shape != "plain" else set())


@st.composite
def trees(draw: st.DrawFn, values: Values, depth: int = 0) -> dict[str, Any]:
    """A nested document whose leaves are recorded as secret or shown."""
    tree: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 3))):
        secret_name = draw(st.booleans())
        name = draw(st.sampled_from(SECRET_NAMES if secret_name else PUBLIC_NAMES))
        if name in tree:
            continue
        if depth < 2 and draw(st.booleans()):
            inner = Values()
            value: Any = draw(trees(inner, depth + 1))
            strings, credentials = inner.secret | inner.shown, inner.secret
        else:
            value, strings, credentials = draw(leaves())
        hidden = strings if secret_name else credentials
        values.secret |= hidden
        values.shown |= strings - hidden
        tree[name] = value
    return tree


@st.composite
def examples(draw: st.DrawFn) -> tuple[dict[str, Any], ...]:
    values = Values()
    password, email, person = draw(token), f"e{draw(token)}@x.example", f"Ann {draw(token)}"
    config = {
        "account": {"email": email, "password": f"p{password}", **draw(trees(values))},
        "onboarding_user": {"name": person},
        "extra": draw(trees(values)),
    }
    values.secret.add(f"p{password}")
    values.shown |= {email, person}
    restaurant = {"name": "Buzz", **draw(trees(values))}
    return (
        restaurant | {"execution_config": config},
        draw(trees(values)),
        draw(trees(values)),
        values,
    )


@contextmanager
def recorded_logs() -> Iterator[list[str]]:
    messages: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield messages
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def run_example(
    restaurant: dict[str, Any], answer: dict[str, Any], typed: dict[str, Any]
) -> tuple[str, Any]:
    """The job through create, an API answer and a manual edit; everything it shows, as text."""
    org = "org-property"
    opened = _STORE.open_batch(org, "user:u-1", "property", [restaurant])
    batch = opened.batch
    created = ok(201, batch=batch_created(batch, opened.jobs)).text
    job = _STORE.job(opened.jobs[0]["id"])
    job.start_step6("user:u-1")
    job.claim("worker-1")
    job.start_sub_step("cloudwaitressAccount")
    job.complete_sub_step("cloudwaitressAccount", answer)
    job.cancel("user:u-1", "property")
    _STORE.store(job)
    _STORE.edit(org, job.id, [("codeGeneration", "completed", typed)], "user:u-1", "by hand")
    events = list(_STORE.events.get(job.id))
    row = job_row(replay(events))
    shown = {
        "create answer": created,
        "read model": json.dumps(row),
        "batch row": json.dumps(batch_row(next(iter(_STORE.events.get(batch.id))))),
        "job answer": job_answer(row | {"id": str(job.id)}).body.decode(),
        "timeline": json.dumps([timeline_entry(e) for e in events]),
        "export": "\n".join(json.dumps(event_record(e)) for e in events),
        "state": json.dumps(state_record(replay(events))),
    }
    return json.dumps(shown), job.id


def stored_text(job_id: Any) -> str:
    """The job's stored events as the store decrypts them, before the fields are unsealed."""
    cipher = _STORE.mapper.cipher
    assert cipher is not None
    return "".join(cipher.decrypt(s.state).decode() for s in _STORE.recorder.select_events(job_id))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(examples())
def test_no_secret_shows_and_every_other_value_does(
    example: tuple[Any, ...],
) -> None:
    restaurant, answer, typed, values = example
    config = restaurant["execution_config"]
    with recorded_logs() as logs:
        shown, job_id = run_example(restaurant, answer, typed)
    personal = {config["account"]["email"], config["onboarding_user"]["name"]}
    stored = stored_text(job_id)
    assert not [v for v in values.secret | personal if v in stored], "a field was not sealed"
    assert values.secret and values.shown
    assert not [s for s in values.secret if s in shown], "a secret was shown"
    assert not [s for s in values.secret if any(s in m for m in logs)], "a secret was logged"
    assert not [v for v in values.shown if v not in shown], "a value that is no secret was hidden"


def test_a_dict_that_looks_like_a_sealed_value_is_kept_as_sent() -> None:
    fake = {"__sealed__": "AAAA", "o": "another-org", "g": 1}
    config = {"account": {"password": "pw-1", "note": fake}, "extra": [fake]}
    batch, jobs, _ = _STORE.create_batch(
        "org-x", "user:u-1", "hostile", [{"name": "Buzz", "execution_config": config}]
    )
    reread = Registrations(_STORE.settings)
    try:
        assert reread.job(jobs[0].id).execution_config == config
    finally:
        reread.close()
