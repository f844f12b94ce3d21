"""The floors bench/api.py divides by: a bare aiohttp server and one raw psycopg transaction.

`python -m bench.api_floors PORT BODY_FILE CONTENT_TYPE` serves BODY_FILE's bytes at every path
with nothing else (no auth, no store, no middleware): what aiohttp alone costs per request.
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg
import uvloop
from aiohttp import web

ROW = b"x" * 600  # about one stored event


def bare_app(body: bytes, content_type: str) -> web.Application:
    """An app answering `body` to every GET."""

    async def answer(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    return app


def psycopg_floor(url: str, seconds: float) -> dict[str, float]:
    """p50/p99 of one transaction that reads a row and inserts one, on one connection."""
    latencies: list[float] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS floor_rows "
            "(id bigserial PRIMARY KEY, job uuid NOT NULL, body bytea NOT NULL)"
        )
        job = uuid.uuid4()
        conn.execute("INSERT INTO floor_rows (job, body) VALUES (%s, %s)", (job, ROW))
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            started = time.perf_counter()
            with conn.transaction():
                conn.execute(
                    "SELECT body FROM floor_rows WHERE job = %s ORDER BY id DESC LIMIT 1", (job,)
                ).fetchone()
                conn.execute("INSERT INTO floor_rows (job, body) VALUES (%s, %s)", (job, ROW))
            latencies.append(time.perf_counter() - started)
        conn.execute("DROP TABLE floor_rows")
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "case": "psycopg read+insert x1",
        "requests": len(latencies),
        "p50_ms": round(cuts[49] * 1000, 3),
        "p99_ms": round(cuts[98] * 1000, 3),
    }


def main() -> None:
    port, body_file, content_type = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    app = bare_app(body_file.read_bytes(), content_type)
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
