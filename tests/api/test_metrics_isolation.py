"""/metrics answers an organisation's key with its own labelled series only: another's would
tell it who else is served, and how much of theirs waits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from api.metrics import own_series
from infrastructure.flow import metrics as flow_metrics
from tests.api.conftest import Caller

ORGS = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=12)


async def test_an_organisation_sees_its_own_series_and_no_other_organisations(
    org_a: Caller,
) -> None:
    flow_metrics.api_calls_waiting.labels("org-stranger").set(3)
    flow_metrics.api_calls_waiting.labels(org_a.org).set(2)
    auth = {"Authorization": f"Bearer {org_a.key}"}
    answer = await org_a.client.get("/metrics", headers=auth)
    text = await answer.text()
    assert answer.status == 200
    assert f'regflow_api_calls_waiting{{organisation="{org_a.org}"}} 2.0' in text
    assert "org-stranger" not in text
    assert "regflow_http_requests_total" in text  # series of no organisation are kept


@given(ORGS, st.lists(ORGS, max_size=4, unique=True))
def test_only_the_callers_series_is_kept_whatever_the_names(own: str, others: list[str]) -> None:
    others = [org for org in others if org != own]
    registry = CollectorRegistry()
    gauge = Gauge("waiting", "w", ["organisation"], registry=registry)
    for number, org in enumerate([own, *others]):
        gauge.labels(org).set(number + 1)
    kept = own_series(generate_latest(registry), own).decode()
    samples = [line for line in kept.splitlines() if not line.startswith("#")]
    assert samples == [line for line in samples if line.endswith(" 1.0")]
    assert len(samples) == 1
