"""A value given to a secret's name inside free text (`token=...`, `password: ...`) is masked
wherever the text shows, as the log masks it: the PATCH answer, the job, the events answer, the
views' tables, `regflow events`, `export` and `state`; on SQLite and PostgreSQL. Who acted
(`key:<organisation>`) stays readable."""

from __future__ import annotations

import json
from collections.abc import Iterable

from api.services import SERVICES
from infrastructure.settings import Settings
from tests.api.conftest import BASE, Caller, Client, restaurant
from tests.api.test_secrets_in_text import everything_shown, logged
from tests.integration.audit_kit import Cli, cli

__all__ = ["cli"]

REASON = "redo: token=REASONLEAK"
ERROR = "HTTP 400: password: hunter22"
PLANTED = ("REASONLEAK", "hunter22")


def fail_code_generation(client: Client, job_id: str) -> None:
    """Play the engine: the first sub-step completes, the second fails with ERROR."""
    store = client.app[SERVICES].app
    job = store.job(job_id)
    job.claim("test-worker")
    job.start_sub_step("cloudwaitressAccount")
    job.complete_sub_step("cloudwaitressAccount", {})
    job.start_sub_step("codeGeneration")
    job.fail_sub_step("codeGeneration", ERROR, transient=False)
    job.cancel("engine", "stopped by the test")
    saved = store.store(job)
    client.app[SERVICES].views.wait_for(saved.position)


async def shown_after_edit(
    caller: Caller,
    tools: tuple[Cli, Settings],
    batch_id: str,
    job_id: str,
    reason: str,
    sub_step: str = "codeGeneration",
) -> dict[str, str]:
    """Mark `sub_step` completed with `reason`; then everything that shows the job, by
    where, and the log lines written meanwhile (`tools`: the CLI and the store's settings)."""
    cli, settings = tools
    with logged() as lines:
        status, answer = await caller.patch(
            f"{BASE}/jobs/{job_id}/steps/6/sub-steps/{sub_step}",
            json={"status": "completed", "reason": reason},
        )
        assert status == 200, answer
        shown = {"PATCH answer": json.dumps(answer)}
        shown |= await everything_shown(caller, cli, settings, batch_id, job_id)
    shown["logs"] = "\n".join(lines)
    return shown


def found_in(needles: Iterable[str], shown: dict[str, str]) -> dict[str, list[str]]:
    """Which of `needles` each place shows."""
    return {where: [n for n in needles if n in text] for where, text in shown.items()}


async def test_a_secret_given_by_name_in_a_reason_or_an_error_shows_nowhere(
    org_a: Caller, client: Client, cli: Cli, api_settings: Settings
) -> None:
    batch = await org_a.new_batch()
    batch_id, job_id = str(batch["id"]), str(batch["jobs"][0]["id"])
    status, _ = await org_a.post(f"{BASE}/{batch_id}/step-6/start")
    assert status == 202
    fail_code_generation(client, job_id)
    shown = await shown_after_edit(org_a, (cli, api_settings), batch_id, job_id, REASON)
    assert found_in(PLANTED, shown) == {where: [] for where in shown}
    _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "200"})
    edited = next(e for e in events["events"] if e["type"] == "ManualStatusSet")
    failed = next(e for e in events["events"] if e["type"] == "SubStepFailed")
    assert (edited["reason"], edited["actor"]) == ("redo: token=***", f"key:{org_a.org}")
    assert failed["data"]["error"] == "HTTP 400: password: ***"
    timeline = [r for r in cli("events", job_id, "--json").lines() if r["reason"]]
    assert "redo: token=***" in [r["reason"] for r in timeline]


# Names a secret is given under that the words of a name read only once they are run together,
# read as the letters they show, or translated; each with a value of its own.
DISGUISED_NAMES = (
    *("apikey", "accesstoken", "clientsecret", "sessionid", "passcode", "newpassword"),
    *("p\u0430ssword", "\uff30\uff21\uff33\uff33\uff37\uff2f\uff32\uff24", "to\u200bken"),
    *("Passwort", "mot_de_passe", "card_number", "creditCard"),
)
BASIC = "Basic dXNlcjpGQUtFQkFTSUMtWjE="  # user:FAKEBASIC-Z1


async def test_a_secret_under_a_disguised_name_or_in_basic_credentials_shows_nowhere(
    org_a: Caller, client: Client, cli: Cli, api_settings: Settings
) -> None:
    planted = {name: f"HIDDEN{i}VALUE" for i, name in enumerate(DISGUISED_NAMES)}
    one = restaurant()
    one["execution_config"] |= {"extra": {"nested": [planted]}, **planted}
    batch = await org_a.new_batch(one)
    batch_id, job_id = str(batch["id"]), str(batch["jobs"][0]["id"])
    reason = f'Authorization: {BASIC}; token="two WORDSHIDDEN"; password%3DURLHIDDEN'
    shown = await shown_after_edit(
        org_a, (cli, api_settings), batch_id, job_id, reason, "cloudwaitressAccount"
    )
    needles = [*planted.values(), "dXNlcjpGQUtFQkFTSUMtWjE", "WORDSHIDDEN", "URLHIDDEN"]
    assert found_in(needles, shown) == {where: [] for where in shown}
