"""Any passphrase REGFLOW_SECRET_KEY takes can be given back in REGFLOW_OLD_SECRET_KEYS to
rotate away from it: commas, blanks at its ends, quotes and brackets included."""

from __future__ import annotations

import tempfile
from pathlib import Path

import hypothesis
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import strategies as st

from api.cli import main
from infrastructure.settings import Settings, old_passphrases
from tests.integration.test_keys import jobs_with_secrets, opened

# Printable text, with the characters a list of passphrases could be mistaken for weighted in.
passphrases = st.text(
    st.one_of(
        st.sampled_from(",[]\"' "), st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
    ),
    min_size=1,
    max_size=16,
).filter(str.strip)


def rotated(url: str, new: str, old: str) -> int:
    """`regflow rotate-keys` from `old` (as REGFLOW_OLD_SECRET_KEYS is written) to `new`."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REGFLOW_DATABASE_URL", url)
        env.setenv("REGFLOW_SECRET_KEY", new)
        env.setenv("REGFLOW_OLD_SECRET_KEYS", old)
        return main(["rotate-keys"])


def read_back(url: str, passphrase: str, configs: dict[str, object]) -> None:
    app = opened(url, passphrase)
    try:
        assert {job_id: app.job(job_id).execution_config for job_id in configs} == configs
    finally:
        app.close()


@hypothesis.settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=passphrases, second=passphrases)
@example(first="third,pass,K3", second=" second ")
@example(first='["a,b", " c "]', second="[]")
def test_a_store_rotates_away_from_any_passphrase_and_back(
    first: str, second: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'keys.db'}"
        configs = jobs_with_secrets(url, first)
        assert rotated(url, second, first) == 0, capsys.readouterr().err
        read_back(url, second, configs)
        assert rotated(url, first, second) == 0, capsys.readouterr().err
        read_back(url, first, configs)


class TestOldPassphrases:
    def test_the_whole_value_and_each_piece_as_written_and_trimmed(self) -> None:
        assert old_passphrases("a, b ,c") == ["a, b ,c", "a", " b ", "b", "c"]

    def test_a_json_list_of_strings_is_taken_exactly(self) -> None:
        value = '["a,b", " c "]'
        assert old_passphrases(value) == [value, "a,b", " c "]

    @pytest.mark.parametrize("value", ["[1, 2]", '["a", null]', "[", '{"a": 1}'])
    def test_what_is_no_json_list_of_strings_is_split_on_commas(self, value: str) -> None:
        assert old_passphrases(value)[0] == value

    def test_unset_is_none(self) -> None:
        assert old_passphrases(None) == old_passphrases("") == []

    def test_a_blank_passphrase_is_given_only_in_a_json_list(self) -> None:
        """A store wrapped under a blank one, before blanks were refused, can still rotate."""
        assert old_passphrases('[" "]') == ['[" "]', " "]
        assert Settings(_env_file=None, old_secret_keys='[" "]').old_secret_keys is not None
        assert old_passphrases("a,  ,a") == ["a,  ,a", "a"]
