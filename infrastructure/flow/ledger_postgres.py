"""The ledger in PostgreSQL: slots with leases, waiting calls (and their jobs), turns, the
bucket and pauses.

About 230 lines: the ledger and the one round it runs under its advisory lock read and write
the same six tables in one transaction, so they stay together; the tables' definitions are in
`ledger_tables`, the fair allocation in `fair`, the reading of the waiting jobs by any process
in `waiting_jobs`.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import psycopg

from infrastructure.flow.config import FlowConfig
from infrastructure.flow.fair import Ask, Shares, allocate
from infrastructure.flow.ledger import IDLE, Answer, Exchange, FlowUnavailable, Slot
from infrastructure.flow.ledger_tables import (
    BUCKET,
    LOCK,
    PAUSES,
    SCHEMA,
    SLOTS,
    TURNS,
    WAITER_SECONDS,
    WAITERS,
    WAITING_JOBS,
)
from infrastructure.flow.limiter import refill
from infrastructure.persistence import schema_lock
from infrastructure.settings import Settings


class PostgresLedger:
    """Slots shared by every worker on one database, timed by the database's clock.

    A slot is a row leased to its worker; each round renews them, so the slots of a worker
    that was killed come back when their lease runs out. Each round runs under one advisory
    lock and sees every worker's waiting calls, so free slots go to the organisation holding
    fewest, whichever worker its calls wait in.
    """

    def __init__(self, settings: Settings, config: FlowConfig, worker_id: str) -> None:
        self.config = config
        self.worker_id = worker_id
        self._conninfo = settings.postgres_conninfo()
        self._conn: psycopg.Connection[Any] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="regflow-flow")
        with schema_lock(settings), psycopg.connect(self._conninfo, autocommit=True) as conn:
            for statement in SCHEMA:
                conn.execute(statement)
            conn.execute(f"DELETE FROM {SLOTS} WHERE worker_id = %s", (worker_id,))
            conn.execute(f"DELETE FROM {WAITERS} WHERE worker_id = %s", (worker_id,))
            conn.execute(f"DELETE FROM {WAITING_JOBS} WHERE worker_id = %s", (worker_id,))

    async def in_thread(self, function: Callable[[], Answer]) -> Answer:
        """Run a round on the ledger's own thread (one connection, used in turn)."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, function)

    def exchange(self, round_: Exchange) -> Answer:
        """One round in one transaction; a lost connection is FlowUnavailable."""
        try:
            conn = self._connection()
            with conn.transaction():
                return _Round(conn, self.config, self.worker_id, round_).run()
        except psycopg.OperationalError as exc:
            self._drop()
            raise FlowUnavailable(str(exc).strip() or type(exc).__name__) from exc

    def serve_as(self, worker_id: str) -> None:
        """Count this process's slots and waiting calls under `worker_id` from the next round
        on: its worker id changed (one it derived was lost to another process)."""
        self.worker_id = worker_id

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def close(self) -> None:
        self._thread.submit(self._drop).result()
        self._thread.shutdown()


class _Round:
    """The statements of one round, in order."""

    def __init__(
        self, conn: psycopg.Connection[Any], config: FlowConfig, worker: str, round_: Exchange
    ) -> None:
        self.conn, self.config, self.worker, self.round = conn, config, worker, round_

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def run(self) -> Answer:
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
        now: datetime = self._rows("SELECT clock_timestamp()")[0][0]
        self._tidy(now)
        paused = {s: (u - now).total_seconds() for s, u in self._rows(f"SELECT * FROM {PAUSES}")}
        tokens = self._tokens(now)
        held = Counter(
            {
                (o, s): n
                for o, s, n in self._rows(
                    f"SELECT organisation_id, sub_step, count(*) FROM {SLOTS} GROUP BY 1, 2"
                )
            }
        )
        cap = self.config.max_in_flight
        free = (cap - sum(held.values())) if cap else 1 << 30
        shares = Shares(
            free=min(free, math.floor(tokens)) if tokens is not None else free,
            held_by_org=_by(held, 0),
            held_by_step=_by(held, 1),
            step_caps=self.config.limits,
            others_waiting=self._others_waiting(),
            last_served=dict(self._rows(f"SELECT organisation_id, served FROM {TURNS}")),
            paused=set(paused),
        )
        granted = [
            self._grant(ask, now, i)
            for i, ask in enumerate(allocate(shares, self.round.asks, self.round.budget))
        ]
        if tokens is not None:
            self.conn.execute(
                f"UPDATE {BUCKET} SET tokens = %s, at = %s WHERE name = 'api'",
                (tokens - len(granted), now),
            )
        self._publish_waiting(now, granted)
        self._publish_waiting_jobs(now, granted)
        return Answer(granted, self._retry_in(paused, tokens, len(granted)), frozenset(paused))

    def _tidy(self, now: datetime) -> None:
        lease = timedelta(seconds=self.config.lease_seconds)
        released = [slot.id for slot in self.round.releases]
        if released:
            # By id alone: a slot granted before this worker's id changed is given back too.
            self.conn.execute(f"DELETE FROM {SLOTS} WHERE id = ANY(%s)", (released,))
        self.conn.execute(f"DELETE FROM {SLOTS} WHERE expires_at < %s", (now,))
        self.conn.execute(f"DELETE FROM {WAITERS} WHERE expires_at < %s", (now,))
        self.conn.execute(f"DELETE FROM {WAITING_JOBS} WHERE expires_at < %s", (now,))
        self.conn.execute(f"DELETE FROM {PAUSES} WHERE until <= %s", (now,))
        self.conn.execute(
            f"UPDATE {SLOTS} SET expires_at = %s WHERE worker_id = %s", (now + lease, self.worker)
        )
        for step, seconds in self.round.pauses.items():
            self.conn.execute(
                f"""INSERT INTO {PAUSES} VALUES (%s, %s) ON CONFLICT (sub_step)
                DO UPDATE SET until = GREATEST({PAUSES}.until, EXCLUDED.until)""",
                (step, now + timedelta(seconds=seconds)),
            )

    def _tokens(self, now: datetime) -> float | None:
        rate = self.config.rate_per_s
        if not rate:
            return None
        rows = self._rows(f"SELECT tokens, at FROM {BUCKET} WHERE name = 'api'")
        if not rows:
            self.conn.execute(f"INSERT INTO {BUCKET} VALUES ('api', %s, %s)", (max(rate, 1.0), now))
            return max(rate, 1.0)
        tokens, at = rows[0]
        return refill(float(tokens), (now - at).total_seconds(), rate)

    def _others_waiting(self) -> Counter[Ask]:
        rows = self._rows(
            f"SELECT organisation_id, sub_step, waiting FROM {WAITERS} WHERE worker_id <> %s",
            (self.worker,),
        )
        return Counter({(o, s): n for o, s, n in rows})

    def _grant(self, ask: Ask, now: datetime, index: int) -> Slot:
        expires = now + timedelta(seconds=self.config.lease_seconds)
        row = self._rows(
            f"""INSERT INTO {SLOTS} (worker_id, organisation_id, sub_step, expires_at)
            VALUES (%s, %s, %s, %s) RETURNING id""",
            (self.worker, *ask, expires),
        )
        self.conn.execute(
            f"""INSERT INTO {TURNS} VALUES (%s, %s) ON CONFLICT (organisation_id)
            DO UPDATE SET served = EXCLUDED.served""",
            (ask[0], now.timestamp() + index * 1e-6),
        )
        return Slot(int(row[0][0]), *ask)

    def _publish_waiting(self, now: datetime, granted: list[Slot]) -> None:
        """Our calls still waiting, so other workers leave their organisations a turn."""
        self.conn.execute(f"DELETE FROM {WAITERS} WHERE worker_id = %s", (self.worker,))
        left = Counter(self.round.asks) - Counter((s.organisation, s.sub_step) for s in granted)
        if self.round.budget - len(granted) <= 0 or not left:
            return
        expires = now + timedelta(seconds=WAITER_SECONDS)
        rows = [(self.worker, o, s, n, expires) for (o, s), n in left.items()]
        with self.conn.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {WAITERS} VALUES (%s, %s, %s, %s, %s)", rows)

    def _publish_waiting_jobs(self, now: datetime, granted: list[Slot]) -> None:
        """The jobs whose calls still wait here, so any process can say which jobs wait."""
        served = Counter((s.organisation, s.sub_step) for s in granted)
        jobs = sorted(
            {job for ask, queue in self.round.waiting_jobs.items() for job in queue[served[ask] :]}
        )
        if not jobs:
            self.conn.execute(f"DELETE FROM {WAITING_JOBS} WHERE worker_id = %s", (self.worker,))
            return
        self.conn.execute(
            f"""INSERT INTO {WAITING_JOBS} VALUES (%s, %s, %s) ON CONFLICT (worker_id)
            DO UPDATE SET job_ids = EXCLUDED.job_ids, expires_at = EXCLUDED.expires_at""",
            (self.worker, jobs, now + timedelta(seconds=WAITER_SECONDS)),
        )

    def _retry_in(self, paused: dict[str, float], tokens: float | None, granted: int) -> float:
        waits = list(paused.values())
        rate = self.config.rate_per_s
        if tokens is not None and rate and tokens - granted < 1:
            waits.append((1 - (tokens - granted)) / rate)
        return max(0.0, min(waits, default=IDLE))


def _by(held: Counter[Ask], part: int) -> Counter[str]:
    counted: Counter[str] = Counter()
    for ask, n in held.items():
        counted[ask[part]] += n
    return counted
