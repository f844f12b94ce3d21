"""The database URL reaches every connection whole: quoted passwords, sslmode and the rest."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from infrastructure.engine.leases import PostgresLeases
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from tests.conftest import store_settings

HOSTILE_PASSWORD = 'it\'s "quoted" \\ and spaced='


def with_url_parts(url: str, password: str, query: str) -> str:
    scheme, rest = url.split("://", 1)
    user_host = rest.split("@", 1)[-1]
    return f"{scheme}://postgres:{quote(password, safe='')}@{user_host}?{query}"


def test_parts_keep_a_password_with_quotes_and_the_other_parameters() -> None:
    url = with_url_parts(
        "postgresql://h:5433/db", HOSTILE_PASSWORD, "sslmode=require&options=-c%20x%3Dy"
    )
    settings = store_settings(url)
    assert settings.postgres_parts() == {
        "host": "h",
        "port": "5433",
        "user": "postgres",
        "password": HOSTILE_PASSWORD,
        "dbname": "db",
    }
    assert "sslmode=require" in settings.postgres_extra()
    assert "options='-c x=y'" in settings.postgres_extra()


@pytest.mark.postgres
def test_every_connection_opens_with_a_quoted_password_and_keeps_url_parameters(
    pg_url: str,
) -> None:
    url = with_url_parts(pg_url, HOSTILE_PASSWORD, "application_name=regflow-url-test")
    settings = store_settings(url)
    app = Registrations(settings)
    try:
        with app.factory.datastore.get_connection() as conn:  # type: ignore[attr-defined]
            row = conn.execute("SELECT current_setting('application_name') AS name").fetchone()
        assert row["name"] == "regflow-url-test"
        leases = PostgresLeases(settings, incarnation="url-test")
        assert leases.claim("url-test-job", "url-test-worker", 5)
        leases.close()
        db = Database(settings)
        conn = db.connect()
        assert conn.execute("SELECT 1 AS one").fetchone()["one"] == 1
        conn.close()
    finally:
        app.close()
