"""Declared types for sensitive fields: a secret (in the spirit of pydantic's SecretStr) and
personal data. The classifier reads them from the schema; their repr never shows the value."""

from __future__ import annotations

from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

ERASED = "[erased]"  # what a field sealed with a destroyed key reads as


class _Sensitive(str):
    """A string whose repr hides it, so a logged model or traceback does not leak it."""

    max_length = 1024

    def __repr__(self) -> str:
        return f"{type(self).__name__}('***')"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            cls, core_schema.str_schema(max_length=cls.max_length)
        )


class SecretText(_Sensitive):
    """A secret: a password, a service key, a token."""


class PersonalText(_Sensitive):
    """Personal data: an email address, a phone number, a person's name."""

    max_length = 320
