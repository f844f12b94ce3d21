"""What an operator's reason quotes of a job's personal data (its email, phone, a person's
name) shows as written until the organisation is erased, then as erased wherever the reason
shows, the rest of the reason as written; the views rebuilt from the log are the live ones.
On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.routes import JOB as JOB_PATH
from api.routes import ROUTES, SUB_STEP
from api.services import SERVICES
from domain import job_events
from domain.secrets import scrub_text
from infrastructure.settings import Settings
from tests.api.conftest import BASE, PASSWORD, Caller, Client
from tests.api.quotes_kit import (
    ERASED,
    erase,
    leaks,
    new_caller,
    outputs,
    reasons_shown,
    sub_step_reason,
)
from tests.integration.audit_kit import Cli, cli

__all__ = ["cli"]

LETTERS = st.characters(categories=("Lu", "Ll", "Lo"))
# Text around the quotes: anything but what would make it part of a quote (`@`, `+`, a digit).
AROUND = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Cn"), exclude_characters="@+0123456789"),
    max_size=12,
)


@dataclass(frozen=True)
class Person:
    """The personal data of one job's config."""

    email: str
    other_email: str  # the onboarding user's: the email's tail, so that quotes overlap
    phone: str
    name: str

    def restaurant(self) -> dict[str, Any]:
        account = {"email": self.email, "password": PASSWORD, "phone": self.phone}
        user = {"name": self.name, "email": self.other_email}
        config = {"account": account, "onboarding_user": user, "payment": {"enabled": True}}
        return {"name": "Diner", "execution_config": config}

    def needles(self) -> list[str]:
        digits = re.sub(r"\D", "", self.phone)
        return [self.email, self.other_email, self.phone, digits, self.name]


@st.composite
def people(draw: st.DrawFn) -> Person:
    local = draw(st.text(LETTERS, min_size=3, max_size=10))
    email = f"{local}@{draw(st.text(LETTERS, min_size=2, max_size=8))}.example"
    tail = email[draw(st.integers(1, len(local) - 1)) :]
    digits = draw(st.text("0123456789", min_size=7, max_size=7))
    name = " ".join(draw(st.lists(st.text(LETTERS, min_size=4, max_size=8), min_size=2)))
    return Person(email, tail + ".nz", f"+64 21 {digits[:3]} {digits[3:]}", name)


def other_case(text: str, flips: list[bool]) -> str:
    """`text` with the letters `flips` picks in the other case (where that is one letter)."""
    flipped = (c.swapcase() if flip else c for c, flip in zip(text, flips, strict=True))
    return "".join(
        f if len(f) == 1 and re.fullmatch(re.escape(c), f, re.IGNORECASE) else c
        for c, f in zip(text, flipped, strict=True)
    )


def flips(size: int) -> st.SearchStrategy[list[bool]]:
    return st.lists(st.booleans(), min_size=size, max_size=size)


@st.composite
def quotes(draw: st.DrawFn, person: Person) -> str:
    """One way of quoting the person's data."""
    digits = re.sub(r"\D", "", person.phone)
    forms = {
        "email": person.email,
        "email in another case": other_case(person.email, draw(flips(len(person.email)))),
        "the other email": person.other_email,
        "both emails, overlapping": person.email + ".nz",
        "phone": person.phone,
        "phone digits": digits,
        "phone with dashes": f"+{digits[:2]}-{digits[2:4]}-{digits[4:]}",
        "phone, national": f"0{digits[2:4]} {digits[4:7]} {digits[7:]}",
        "name": person.name,
        "name in another case": other_case(person.name, draw(flips(len(person.name)))),
    }
    return forms[draw(st.sampled_from(sorted(forms)))]


@st.composite
def reasons(draw: st.DrawFn, person: Person) -> list[tuple[str, bool]]:
    """A reason in pieces (text, whether it quotes): quotes anywhere, repeated, touching."""
    pieces = draw(
        st.lists(
            st.one_of(AROUND.map(lambda t: (t, False)), quotes(person).map(lambda q: (q, True))),
            min_size=1,
            max_size=8,
        ).filter(lambda ps: any(q for _, q in ps))
    )
    spaced: list[tuple[str, bool]] = []
    for text, quoted in pieces:  # digits that touch would read as one longer number
        if "".join(t for t, _ in spaced)[-1:].isdigit() and text[:1].isdigit():
            spaced.append((" ", False))
        spaced.append((text, quoted))
    return spaced


def quoted_only_where_quoted(pieces: list[tuple[str, bool]], person: Person) -> bool:
    """Whether every occurrence of the person's data lies inside one quote of the reason (the
    text around a quote could otherwise run on into it and be part of it)."""
    text, at, quotes_at = "", 0, []
    for piece, quoted in pieces:
        if quoted:
            quotes_at.append((at, at + len(piece)))
        text, at = text + piece, at + len(piece)
    for needle in person.needles():
        for found in re.finditer(f"(?=({re.escape(needle)}))", text, re.IGNORECASE):
            if not any(s <= found.start(1) and found.end(1) <= e for s, e in quotes_at):
                return False
    return True


async def edited_job(caller: Caller, person: Person, reason: str) -> tuple[str, str]:
    batch = await caller.new_batch(person.restaurant())
    job_id = str(batch["jobs"][0]["id"])
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/paymentConfig"
    status, body = await caller.patch(path, json={"status": "skipped", "reason": reason})
    assert status == 200, body
    return str(batch["id"]), job_id


def settled(client: Client) -> None:
    views = client.app[SERVICES].views
    assert views.wait_for(views.head())


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_a_reason_shows_what_it_quotes_until_the_erasure_and_then_only_the_rest(
    client: Client, cli: Cli, api_settings: Settings, data: st.DataObject
) -> None:
    person = data.draw(people(), "person")
    pieces = data.draw(reasons(person), "reason")
    reason = "".join(text for text, _ in pieces)
    after = "".join(ERASED if quoted else text for text, quoted in pieces)
    assume(quoted_only_where_quoted(pieces, person))
    assume(scrub_text(reason) == reason and scrub_text(after) == after)  # no secret's shape
    caller = new_caller(client)
    batch_id, job_id = await edited_job(caller, person, reason)
    settled(client)
    _, answer = await caller.get(f"{BASE}/jobs/{job_id}")
    shown = await reasons_shown(caller, cli, api_settings, job_id, "ManualStatusSet")
    assert (sub_step_reason(answer, "paymentConfig"), shown) == (
        reason,
        dict.fromkeys(shown, reason),
    )

    erase(client, api_settings, caller.org)
    _, answer = await caller.get(f"{BASE}/jobs/{job_id}")
    shown = await reasons_shown(caller, cli, api_settings, job_id, "ManualStatusSet")
    assert (sub_step_reason(answer, "paymentConfig"), shown) == (after, dict.fromkeys(shown, after))
    quoted = [text for text, quoted in pieces if quoted]
    everywhere = await outputs(caller, cli, api_settings, batch_id, [job_id])
    assert leaks(person.needles() + quoted, everywhere) == {}
    verified = cli("replay", "--verify", "--job", job_id)
    assert verified.code == 0, verified.out + verified.err


Scenario = Callable[[Caller, str, str, str], Awaitable[None]]
SKIPPED = {"status": "skipped"}


async def _ok(answer: Awaitable[tuple[int, Any]], expected: int = 200) -> None:
    status, body = await answer
    assert status == expected, body


async def _edit(caller: Caller, batch_id: str, job_id: str, reason: str) -> None:
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/paymentConfig"
    await _ok(caller.patch(path, json=SKIPPED | {"reason": reason}))


async def _bulk_edit(caller: Caller, batch_id: str, job_id: str, reason: str) -> None:
    updates = [{"sub_step": "paymentConfig", "reason": reason} | SKIPPED]
    await _ok(caller.patch(f"{BASE}/jobs/{job_id}/steps/6/sub-steps", json={"updates": updates}))


async def _reset(caller: Caller, batch_id: str, job_id: str, reason: str) -> None:
    await _edit(caller, batch_id, job_id, "by hand")
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/paymentConfig/reset"
    await _ok(caller.post(path, json={"reason": reason}))


async def _cancel(caller: Caller, batch_id: str, job_id: str, reason: str) -> None:
    await _ok(caller.post(f"{BASE}/jobs/{job_id}/cancel", json={"reason": reason}))


async def _resume(caller: Caller, batch_id: str, job_id: str, reason: str) -> None:
    start = f"{BASE}/{batch_id}/step-6/start"
    await _ok(caller.post(start, json={"job_ids": [job_id]}), 202)
    await _ok(caller.post(f"{BASE}/jobs/{job_id}/cancel"))
    await _ok(caller.post(f"{BASE}/jobs/{job_id}/resume-step-6", json={"reason": reason}))


async def _start_by_resume(caller: Caller, batch_id: str, job_id: str, reason: str) -> None:
    """A job cancelled before Step 6 started is started by its resume, with the reason."""
    await _ok(caller.post(f"{BASE}/jobs/{job_id}/cancel"))
    await _ok(caller.post(f"{BASE}/jobs/{job_id}/resume-step-6", json={"reason": reason}))


async def _retry_now(caller: Caller, batch_id: str, job_id: str, reason: str) -> None:
    start = f"{BASE}/{batch_id}/step-6/start"
    await _ok(caller.post(start, json={"job_ids": [job_id]}), 202)
    services = caller.client.app[SERVICES]
    job = services.app.job(job_id)
    job.start_sub_step("cloudwaitressAccount")
    job.schedule_retry("cloudwaitressAccount", "HTTP 503", delay=600)
    services.views.wait_for(services.app.store(job).position)
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/cloudwaitressAccount/retry-now"
    await _ok(caller.post(path, json={"reason": reason}))


async def _refused_edit(caller: Caller, batch_id: str, job_id: str, reason: str) -> None:
    """An edit the job refuses (its dependencies are not met) is recorded with its reason."""
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport"
    status, _ = await caller.patch(path, json={"status": "completed", "reason": reason})
    assert status in (409, 422)


# Each route whose body takes a reason, with the command it gives; and a refused edit.
SCENARIOS: dict[tuple[str, str], tuple[Scenario, str]] = {
    ("PATCH", SUB_STEP): (_edit, "ManualStatusSet"),
    ("PATCH", JOB_PATH + "/steps/6/sub-steps"): (_bulk_edit, "ManualStatusSet"),
    ("POST", SUB_STEP + "/reset"): (_reset, "SubStepReset"),
    ("POST", JOB_PATH + "/cancel"): (_cancel, "JobCancelled"),
    ("POST", JOB_PATH + "/resume-step-6"): (_resume, "ResumeRequested"),
    ("POST", JOB_PATH + "/resume-step-6 (before the start)"): (_start_by_resume, "Step6Started"),
    ("POST", SUB_STEP + "/retry-now"): (_retry_now, "SubStepRetryRequested"),
    ("PATCH", SUB_STEP + " (refused)"): (_refused_edit, "EditRefused"),
}
# Recorded by the rules alone, with the words of the plan or of the config: no operator's.
ENGINE_ONLY = {"SubStepSkipped", "SubStepReopened"}


def events_with_reasons() -> set[str]:
    """The job's events that record a reason (a refused edit's is inside its edit)."""
    return {
        name
        for name in job_events.__all__
        if isinstance(kind := getattr(job_events, name), type)
        and issubclass(kind, Aggregate.Event)
        and {"reason", "edit"} & {f.name for f in dataclasses.fields(kind)}
    }


async def test_no_reason_shows_what_it_quotes_after_an_erasure(
    client: Client, cli: Cli, api_settings: Settings
) -> None:
    reasoned = {(r.method, r.path) for r in ROUTES if r.body and "reason" in r.body.model_fields}
    assert reasoned == {(m, p.split(" (")[0]) for m, p in SCENARIOS}
    assert {kind for _, kind in SCENARIOS.values()} == events_with_reasons() - ENGINE_ONLY
    caller = new_caller(client)
    tag = caller.org.removeprefix("org-")
    person = Person(
        f"owner-{tag}@erase.example", f"{tag}@erase.example.nz", "+64 21 555 0199", f"Ana {tag}"
    )
    reason = f"owner {person.email.upper()}, {person.name} ({person.phone}) asked for it"
    batch = await caller.new_batch(*[person.restaurant()] * len(SCENARIOS))
    jobs = {route: str(job["id"]) for route, job in zip(SCENARIOS, batch["jobs"], strict=True)}
    for route, (scenario, _) in SCENARIOS.items():
        await scenario(caller, str(batch["id"]), jobs[route], reason)
    settled(client)
    for route, (_, kind) in SCENARIOS.items():
        shown = await reasons_shown(caller, cli, api_settings, jobs[route], kind)
        assert shown == dict.fromkeys(shown, reason), route

    erase(client, api_settings, caller.org)
    after = f"owner {ERASED}, {ERASED} ({ERASED}) asked for it"
    for route, (_, kind) in SCENARIOS.items():
        shown = await reasons_shown(caller, cli, api_settings, jobs[route], kind)
        assert shown == dict.fromkeys(shown, after), route
    everywhere = await outputs(caller, cli, api_settings, str(batch["id"]), list(jobs.values()))
    assert leaks(person.needles(), everywhere) == {}
