"""The PostgreSQL flow ledger between workers: shared cap, turns across workers, the rate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from infrastructure.flow.config import FlowConfig
from infrastructure.flow.ledger import Exchange
from infrastructure.flow.ledger_postgres import PostgresLedger
from tests.conftest import store_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def ledgers(pg_url: str) -> Iterator[tuple[PostgresLedger, PostgresLedger, str]]:
    settings = store_settings(pg_url)
    config = FlowConfig(max_in_flight=2, lease_seconds=30)
    tag = uuid.uuid4().hex[:8]
    pair = [PostgresLedger(settings, config, f"{name}-{tag}") for name in ("w1", "w2")]
    yield pair[0], pair[1], tag
    for ledger in pair:
        ledger.exchange(Exchange({}, 0, []))
        ledger.close()


def test_a_slot_freed_in_one_worker_goes_to_the_organisation_waiting_in_another(
    ledgers: tuple[PostgresLedger, PostgresLedger, str],
) -> None:
    w1, w2, tag = ledgers
    a, b = ("A-" + tag, "x"), ("B-" + tag, "x")
    held = w1.exchange(Exchange({a: 10}, 10)).granted
    assert len(held) == 2
    assert w2.exchange(Exchange({b: 3}, 10)).granted == []
    again = w1.exchange(Exchange({a: 8}, 10, releases=[held[0]])).granted
    assert again == []
    turn = w2.exchange(Exchange({b: 3}, 10)).granted
    assert [(s.organisation, s.sub_step) for s in turn] == [b]
    w2.exchange(Exchange({}, 0, releases=turn))
    w1.exchange(Exchange({}, 0, releases=held[1:]))


def test_the_cap_holds_across_workers(ledgers: tuple[PostgresLedger, PostgresLedger, str]) -> None:
    w1, w2, tag = ledgers
    first = w1.exchange(Exchange({("A-" + tag, "x"): 1}, 10)).granted
    second = w2.exchange(Exchange({("B-" + tag, "y"): 5}, 10)).granted
    assert (len(first), len(second)) == (1, 1)
    w1.exchange(Exchange({}, 0, releases=first))
    w2.exchange(Exchange({}, 0, releases=second))


def test_a_slot_taken_before_the_worker_id_changed_is_still_given_back(
    ledgers: tuple[PostgresLedger, PostgresLedger, str],
) -> None:
    w1, w2, tag = ledgers
    held = w1.exchange(Exchange({("A-" + tag, "x"): 2}, 10)).granted
    assert len(held) == 2
    w1.serve_as(f"w1-traded-{tag}")  # its derived worker id was lost and traded
    w1.exchange(Exchange({}, 0, releases=held))
    freed = w2.exchange(Exchange({("B-" + tag, "y"): 2}, 10)).granted
    w2.exchange(Exchange({}, 0, releases=freed))
    assert len(freed) == 2, "the slots given back are free for other workers"
