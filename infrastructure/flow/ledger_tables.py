"""The flow ledger's tables in PostgreSQL: slots, waiting calls (counted by ask, and the jobs
they belong to), turns, the bucket, pauses."""

from __future__ import annotations

SLOTS, WAITERS, TURNS, BUCKET, PAUSES = (
    f"regflow_api_{name}" for name in ("slots", "waiters", "turns", "bucket", "pauses")
)
WAITING_JOBS = "regflow_api_waiting_jobs"
LOCK = 0x7265_6766_6C6F_77  # one advisory lock serialises every round of every worker
WAITER_SECONDS = 2.0
SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {SLOTS} (id bigserial PRIMARY KEY, worker_id text NOT NULL,
        organisation_id text NOT NULL, sub_step text NOT NULL, expires_at timestamptz NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {WAITERS} (worker_id text, organisation_id text,
        sub_step text, waiting integer NOT NULL, expires_at timestamptz NOT NULL,
        PRIMARY KEY (worker_id, organisation_id, sub_step))""",
    f"""CREATE TABLE IF NOT EXISTS {TURNS} (organisation_id text PRIMARY KEY,
        served float8 NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {BUCKET} (name text PRIMARY KEY, tokens float8 NOT NULL,
        at timestamptz NOT NULL)""",
    f"CREATE TABLE IF NOT EXISTS {PAUSES} (sub_step text PRIMARY KEY, until timestamptz NOT NULL)",
    f"""CREATE TABLE IF NOT EXISTS {WAITING_JOBS} (worker_id text PRIMARY KEY,
        job_ids text[] NOT NULL, expires_at timestamptz NOT NULL)""",
)
