"""Settings the environment gets wrong: refused at once, one line each, never echoing a secret."""

from __future__ import annotations

import json
import string
from pathlib import Path

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.cli import main
from domain.limits import organisation_errors
from infrastructure.settings import Settings, parse_api_keys, unread_variables

FORBIDDEN = " \t\"'{}[]"
allowed = st.text(
    # No controls, format characters or lone surrogates (an undecodable byte of the
    # environment), which an organisation id refuses as every identity does.
    st.characters(
        blacklist_characters=FORBIDDEN + ",:", blacklist_categories=("Zs", "Cc", "Cf", "Cs")
    ),
    min_size=1,
    max_size=12,
).filter(lambda t: t.strip() == t and t.split() == [t])


@given(st.lists(st.tuples(allowed, allowed), min_size=1, max_size=5, unique_by=lambda p: p[1]))
def test_org_key_pairs_are_read_back_as_written(pairs: list[tuple[str, str]]) -> None:
    """Every pair whose organisation an identity may be (not one reading as a credential)."""
    hypothesis.assume(not any(organisation_errors(org) for org, _ in pairs))
    spec = ",".join(f"{org}:{key}" for org, key in pairs)
    assert parse_api_keys(spec) == pairs


@given(allowed, allowed, allowed, st.booleans())
def test_a_key_given_to_two_organisations_is_refused_without_it(
    first: str, second: str, key: str, same_org: bool
) -> None:
    """The second would never be the caller: the key names the first."""
    hypothesis.assume(not organisation_errors(first) and not organisation_errors(second))
    other = first if same_org else second
    with pytest.raises(ValueError) as refused:
        parse_api_keys(f"{first}:sk-{key},x:sk-other,{other}:sk-{key}")
    assert "entry 3 gives the key of entry 1 again" in str(refused.value)
    assert f"sk-{key}" not in str(refused.value)


@pytest.mark.parametrize("hidden", ["\x01", "\x7f", "\u200b", "\u202e", "\x1b"])
def test_a_key_holding_a_control_or_format_character_is_refused(hidden: str) -> None:
    character = hidden.encode().decode("unicode_escape")
    with pytest.raises(ValueError, match="entry 1 is not: no spaces"):
        parse_api_keys(f"o1:k{character}ey")


@pytest.mark.parametrize(
    "org", ["password=OrgSecret", "token=abc123", "eyJhbGciOiJI.eyJzdWIiOiJ4.c2lnbmF0dXJl"]
)
def test_an_organisation_reading_as_a_credential_is_refused(org: str) -> None:
    """It would be shown masked in the read models: two organisations could show as one."""
    with pytest.raises(ValueError, match="entry 1 is not: its organisation: reads as a credential"):
        parse_api_keys(f"{org}:k9,other:k10")


@given(allowed, allowed, st.sampled_from(FORBIDDEN), st.booleans())
def test_a_pair_holding_a_space_quote_or_brace_is_refused_without_its_key(
    org: str, key: str, bad: str, in_key: bool
) -> None:
    secret = f"sk-{key}{bad}{key}" if in_key else f"sk-{key}"
    spoiled = f"{org}:{secret}" if in_key else f"{org}{bad}{org}:{secret}"
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None, api_keys=f"good:sk-good,{spoiled}")
    message = str(refused.value)
    assert "entry 2" in message
    assert "sk-" not in message


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("REGFLOW_API_KEYS", '{"key-1": "org-a"}', "REGFLOW_API_KEYS must be org:key pairs"),
        ("REGFLOW_PORT", "eighty", "REGFLOW_PORT: not a whole number written in digits"),
        ("REGFLOW_MAX_CONCURRENT_JOBS", "16.0", "not a whole number written in digits"),
        ("REGFLOW_POSTGRES_POOL_SIZE", "+5", "not a whole number written in digits"),
        ("REGFLOW_API_MAX_IN_FLIGHT", "1_000", "not a whole number written in digits"),
        ("REGFLOW_PORT", "0", "REGFLOW_PORT: Input should be greater than or equal to 1"),
        ("REGFLOW_DATABASE_URL", "mysql://db", "REGFLOW_DATABASE_URL must start with"),
    ],
)
def test_a_command_says_which_setting_is_wrong_in_one_line(
    variable: str, value: str, said: str, monkeypatch, capsys
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["batches", "--all"]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "Traceback" not in err and value not in err


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:////", "sqlite:///data/"])
def test_a_sqlite_url_that_names_no_file_is_refused_before_anything_is_made(
    url: str, tmp_path: Path, monkeypatch, capsys
) -> None:
    (tmp_path / "f.json").write_text(json.dumps([{"name": "Buzz"}]))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", url)
    assert main(["batch", "run", "f.json"]) == 2
    assert "REGFLOW_DATABASE_URL names no SQLite file" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_the_in_memory_store_is_asked_for_by_name() -> None:
    assert Settings(_env_file=None, database_url="sqlite:///:memory:").is_in_memory
    assert not Settings(_env_file=None, database_url="sqlite:///memory.db").is_in_memory


def test_an_export_from_a_store_that_is_not_there_makes_none(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'typo' / 'regflow.db'}")
    assert main(["export", "--output", "audit.jsonl"]) != 0
    assert "No store at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@given(st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=1, max_size=30))
def test_a_variable_naming_no_setting_is_said_and_one_naming_a_setting_is_not(
    suffix: str,
) -> None:
    """A misspelt setting (`REGFLOW_LEASE_SECOND=0`) left its setting at the default, silently:
    every `REGFLOW_` variable that names none is said, once, never one that does."""
    name = f"REGFLOW_{suffix}"
    said = unread_variables({name: "1", "PATH": "/bin", "REGFLOW_PORT": "1"})
    if suffix.upper() in {field.upper() for field in Settings.model_fields}:
        assert said == []
    else:
        assert len(said) == 1 and said[0].startswith(f"{name} is not a setting")


def test_a_misspelt_setting_is_said_with_the_one_it_may_mean() -> None:
    said = unread_variables({"REGFLOW_LEASE_SECOND": "0", "REGFLOW_MAX_CONCURENT_JOBS": "0"})
    assert said == [
        "REGFLOW_LEASE_SECOND is not a setting regflow reads (did you mean"
        " REGFLOW_LEASE_SECONDS?); it is ignored",
        "REGFLOW_MAX_CONCURENT_JOBS is not a setting regflow reads (did you mean"
        " REGFLOW_MAX_CONCURRENT_JOBS?); it is ignored",
    ]
