"""SQL written once with `?` runs on both drivers: only parameter tokens become parameters.

A `?` or `%s` inside a string constant, a quoted identifier or a comment is part of the statement
on SQLite and on PostgreSQL, and parameter values arrive as given, whatever they hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from infrastructure.keys.table import KeyTable
from infrastructure.sql_params import FORMAT, QMARK, split_parameters
from projections.database import Database
from tests.conftest import store_settings

# Text a database can hold: PostgreSQL refuses NUL, sqlite3 refuses lone surrogates.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
HOSTILE = ["?", "%s", "%", "%%", "?%s?", "'", "''?", "\\'?", "$$?$$", "--?", "/*?*/", '"?"']
WITH_FIXTURES = hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(store_settings(database_url))
    yield database
    database.close()


@pytest.fixture
def key_table(database_url: str) -> Iterator[KeyTable]:
    table = KeyTable(store_settings(database_url))
    yield table
    table.close()


class TestReadingStatements:
    @given(TEXT, TEXT)
    def test_a_string_constant_holds_no_parameters(self, before: str, inside: str) -> None:
        statement = f"SELECT ? AS a, {quoted(before + '?' + inside)} AS b, ? AS c"
        pieces = split_parameters(statement)
        assert pieces == ["SELECT ", f" AS a, {quoted(before + '?' + inside)} AS b, ", " AS c"]

    @pytest.mark.parametrize(
        "constant",
        [
            "E'it\\'s ?'",
            "e'\\\\?'",
            "$$ ? %s $$",
            "$tag$ it's ? $ $tag$",
            '"odd ? name"',
            '"say ""?"""',
            "/* ? */",
            "-- ? %s\n",
        ],
    )
    def test_nor_does_any_other_quoted_or_commented_text(self, constant: str) -> None:
        assert split_parameters(f"SELECT ? {constant} ?") == ["SELECT ", f" {constant} ", ""]

    def test_each_style_marks_parameters_its_own_way(self) -> None:
        statement = "UPDATE t SET a = ?, b = '?%s' WHERE c LIKE ? ESCAPE '\\'"
        assert QMARK.sql(statement) == statement
        assert FORMAT.sql(statement) == (
            "UPDATE t SET a = %s, b = '?%%s' WHERE c LIKE %s ESCAPE '\\'"
        )

    @given(TEXT)
    def test_sqlite_statements_are_taken_as_written(self, text: str) -> None:
        assert QMARK.sql(text) == text

    @given(st.lists(st.sampled_from(["?", "%", "s", "'", " ", "x", '"', "-", "/", "*"])))
    def test_every_percent_is_doubled_for_psycopg_and_only_parameters_marked(
        self, chars: list[str]
    ) -> None:
        statement = "".join(chars)
        pieces = split_parameters(statement)
        assert FORMAT.sql(statement) == "%s".join(p.replace("%", "%%") for p in pieces)
        assert "?".join(pieces) == statement


class TestOnTheDatabase:
    """Each test runs on SQLite and on PostgreSQL."""

    def test_a_literal_question_mark_and_percent_s_survive(self, db: Database) -> None:
        rows = db.fetch(
            'SELECT ? AS p, \'a ? b %s c %% d\' AS lit, "x?%s" AS q FROM (SELECT 1 AS "x?%s") t'
            " WHERE ? = ? /* ? %s */ -- ? %s\n",
            ("value ? %s", 1, 1),
        )
        assert rows == [{"p": "value ? %s", "lit": "a ? b %s c %% d", "q": 1}]

    @WITH_FIXTURES
    @given(constant=TEXT, value=TEXT)
    def test_any_constant_and_any_value_arrive_as_written(
        self, db: Database, constant: str, value: str
    ) -> None:
        rows = db.fetch(f"SELECT {quoted(constant)} AS lit, ? AS p", (value,))
        assert rows == [{"lit": constant, "p": value}]

    @pytest.mark.parametrize("hostile", HOSTILE)
    def test_hostile_constants_and_values(self, db: Database, hostile: str) -> None:
        rows = db.fetch(f"SELECT ? AS p, {quoted(hostile)} AS lit, ? AS q", (hostile, "?"))
        assert rows == [{"p": hostile, "lit": hostile, "q": "?"}]

    def test_written_rows_keep_question_marks_and_percent_signs(self, db: Database) -> None:
        table = f"param_styles_{uuid.uuid4().hex[:8]}"
        conn = db.connect()
        try:
            with db.transaction(conn) as cur:
                cur.execute(f"CREATE TABLE {table} (k TEXT, v TEXT)")
                cur.execute(db.sql(f"INSERT INTO {table} VALUES (?, '?%s')"), ("k?%s",))
                cur.execute(db.sql(f"UPDATE {table} SET v = v || ? WHERE k = ?"), ("%s?", "k?%s"))
            rows = db.fetch(f"SELECT k, v FROM {table} WHERE v LIKE '%?%'")
            with db.transaction(conn) as cur:
                cur.execute(f"DROP TABLE {table}")
        finally:
            conn.close()
        assert rows == [{"k": "k?%s", "v": "?%s%s?"}]

    def test_the_key_table_uses_its_drivers_style(self, key_table: KeyTable) -> None:
        key_table.create()
        with key_table.transaction(write=False) as cur:
            cur.execute(key_table.sql("SELECT ?, '? %s', ?"), ("%s", "?"))
            assert tuple(cur.fetchone()) == ("%s", "? %s", "?")
            assert key_table.rows(cur, owner="nobody ? %s '") == []


def test_postgres_only_constants_survive(pg_url: str) -> None:
    db = Database(store_settings(pg_url))
    try:
        rows = db.fetch(
            "SELECT E'it\\'s ? %s' AS e, $$ ? %s $$ AS d, $q$ '?' $q$ AS t, ? AS p", ("?",)
        )
    finally:
        db.close()
    assert rows == [{"e": "it's ? %s", "d": " ? %s ", "t": " '?' ", "p": "?"}]
