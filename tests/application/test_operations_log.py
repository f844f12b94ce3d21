"""The lines an operator looks for are logged at INFO, as text or as JSON lines."""

from __future__ import annotations

import json
import logging

import pytest

from infrastructure.engine.circuit import CircuitBreaker
from infrastructure.executors.simulator.faults import FaultRule, SimulatorConfig
from infrastructure.logs import JsonLines
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import FakeTime, running_engine, simulator
from tests.conftest import unique_org
from tests.kit import restaurants

HOSTILE = 'menu "broken"\n{"level": "forged"}'


async def test_batches_jobs_edits_and_resumes_are_logged(
    app: Registrations, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="regflow")
    org = unique_org()
    batch, jobs, _ = app.create_batch(org, "user:ops", "logged", restaurants(2))
    failing, fine = (str(j.id) for j in jobs)
    app.start_step6(org, batch.id, None, "user:ops")
    rule = FaultRule(kind="bad_request", endpoint="menuImport", job=failing)
    async with (
        simulator(SimulatorConfig(faults=[rule])) as (_, url),
        running_engine(app, settings, url) as engine,
    ):
        engine.wake([failing, fine])
        assert await engine.run_until_idle(60)
    app.edit(org, failing, [("menuImport", "skipped", None)], "cli:ops", HOSTILE)
    app.resume(org, failing, "cli:ops")
    said = [r.getMessage() for r in caplog.records if r.name == "regflow.operations"]
    assert f"batch {batch.id} created: 'logged', 2 jobs, organisation {org}, by user:ops" in said
    assert f"batch {batch.id}: Step 6 started for 2 jobs by user:ops" in said
    assert f"job {fine} completed" in said
    assert any(s.startswith(f"job {failing} failed: ") and "menuImport" in s for s in said)
    assert any(s.startswith(f"job {failing}: menuImport set from failed to skipped") for s in said)
    assert any(s.startswith(f"job {failing} resumed from ") for s in said)

    edit = next(r for r in caplog.records if "set from failed to skipped" in r.getMessage())
    line = JsonLines().format(edit)
    assert "\n" not in line
    parsed = json.loads(line)
    assert (parsed["level"], parsed["actor"], parsed["reason"]) == ("INFO", "cli:ops", HOSTILE)
    assert parsed["aggregate_id"] == failing and "level" not in parsed["message"][:5]


async def test_the_circuit_opening_and_closing_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="regflow")
    fake = FakeTime()
    circuit = CircuitBreaker(threshold=2, clock=fake)
    for _ in range(3):
        circuit.record(True, False)
    circuit.record(False, False)
    said = [r.getMessage() for r in caplog.records if r.name == "regflow.engine"]
    assert [line.split(":")[0] for line in said] == ["circuit open", "circuit closed"]
    assert "calls pause" in said[0] and "answers again" in said[1]
