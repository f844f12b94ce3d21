"""Configuration from environment variables (and a `.env` file), as SPEC section 11 lists."""

from __future__ import annotations

import difflib
import json
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg
from dotenv import dotenv_values
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.exceptions import RegflowError
from domain.job_state import SIMULATED_API
from domain.limits import MAX_IDENTITY, hidden_characters, identity_errors, organisation_errors
from domain.plan import PLAN
from domain.written_values import whole_number

SIMULATOR = SIMULATED_API
ENV_FILE = ".env"  # read from the working directory, under the environment's own variables


class RegistrationApiMissing(RegflowError):
    """The engine was asked to run on PostgreSQL with no registration API named."""

    def __init__(self) -> None:
        super().__init__(
            "REGFLOW_REGISTRATION_API_URL is not set: on PostgreSQL the engine will not fall back "
            "to the built-in simulator. Set it to the registration API's base URL, or to "
            "'simulator' to run against the simulator on purpose."
        )


class StoreMissing(RegflowError):
    """A command that only reads was pointed at an SQLite file that does not exist."""

    def __init__(self, location: str) -> None:
        super().__init__(
            f"No store at {location}: REGFLOW_DATABASE_URL names a file that does not exist. "
            "Check the path; `regflow serve` and `regflow batch run` make a new store."
        )


class SettingsFileUnreadable(RegflowError):
    """The `.env` beside the process cannot be read: not UTF-8 text, or a folder."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot read the settings file {os.path.abspath(ENV_FILE)}: {reason}")


IN_MEMORY = ":memory:"
MOST_LEASE_SECONDS = 24 * 60 * 60
# A lease is renewed every third of it: a shorter one than this is lost to one slow commit.
LEAST_LEASE_SECONDS = 1.0
MOST_AT_ONCE = 1_000_000  # jobs, calls or calls in flight at once: past any machine's room
MOST_POOLED = 1_000  # connections a pool may open: past any PostgreSQL server's max_connections
MOST_BYTES = 2**40  # a body or batch upload of a tebibyte
# A slower rate is a typo (1e-9 would start a call every 31 years); a faster one is no limit.
LEAST_RATE_PER_S = 1 / 3600
LEAST_RATE_SAID = "1/3600 (one call an hour)"
MOST_RATE_PER_S = 10_000.0
LIBRARY_PARAMETERS = frozenset({"host", "port", "user", "password", "dbname"})
LEAST_JWT_SECRET = 32  # characters: RFC 7518 asks an HS256 key of at least 256 bits


ORGANISATION = re.compile(r"[^\s\"'{}\[\]:,]+")
API_KEY = re.compile(r"[^\s\"'{}\[\],]+")


def parse_api_keys(spec: str | None) -> list[tuple[str, str]]:
    """`org:key,org:key` as (organisation, key) pairs.

    An organisation or key holding spaces, quotes, braces, brackets or control characters is
    refused (a JSON object or a quoted list would otherwise be read as keys nobody can send),
    as is an organisation no identity may be (`organisation_errors`) and a key given twice (it
    would name only the first of its organisations). The error names the entry by position,
    never the key."""
    pairs: list[tuple[str, str]] = []
    entries: dict[str, int] = {}
    for number, entry in enumerate((spec or "").split(","), start=1):
        if not entry.strip():
            continue
        org, sep, key = entry.strip().partition(":")
        problem = _api_key_problem(org, sep, key)
        if problem is not None:
            raise ValueError(
                f"REGFLOW_API_KEYS must be org:key pairs separated by commas (entry {number} is "
                f"not: {problem})"
            )
        if key in entries:
            raise ValueError(
                f"REGFLOW_API_KEYS: entry {number} gives the key of entry {entries[key]} again: "
                "a key names one organisation"
            )
        entries[key] = number
        pairs.append((org, key))
    return pairs


def _api_key_problem(org: str, sep: str, key: str) -> str | None:
    """What is wrong with one `org:key` entry, in words that never quote the key."""
    shaped = sep and ORGANISATION.fullmatch(org) and API_KEY.fullmatch(key)
    if not shaped or hidden_characters(key):
        return "no spaces, quotes, braces, brackets or control characters"
    errors = organisation_errors(org, "its organisation")
    return errors[0] if errors else None


def old_passphrases(spec: str | None) -> list[str]:
    """The passphrases to try that `REGFLOW_OLD_SECRET_KEYS` names: the whole value as written,
    then the strings of a JSON list (`["a,b", " c "]`) exactly as they are, or else each
    comma-separated piece as written and trimmed (a blank piece names none). Whatever
    `REGFLOW_SECRET_KEY` took, commas, quotes and blanks at its ends too, is so given back."""
    if not spec:
        return []
    pieces = _json_strings(spec)
    if pieces is None:
        pieces = [form for piece in spec.split(",") for form in (piece, piece.strip())]
        pieces = [piece for piece in pieces if piece.strip()]
    return list(dict.fromkeys(piece for piece in (spec, *pieces) if piece))


def _json_strings(spec: str) -> list[str] | None:
    """The strings of `spec` read as a JSON list of strings; None when it is not one."""
    try:
        value = json.loads(spec)
    except (ValueError, RecursionError):
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def reveal(value: SecretStr | str | None) -> str | None:
    """The text of a secret setting, for the one place that uses it (None when unset)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value() or None
    return value or None


def parse_limits(text: str | None) -> dict[str, int]:
    """`menuImport=2,uploadImages=2` as a mapping; a clear ValueError for anything else."""
    limits: dict[str, int] = {}
    for raw in (text or "").split(","):
        item = raw.strip()
        if not item:
            continue
        key, sign, value = (part.strip() for part in item.partition("="))
        if not sign or not key:
            raise ValueError(f"{item!r} is not of the form subStep=N")
        if key not in PLAN.keys:
            known = ", ".join(PLAN.keys)
            raise ValueError(f"unknown sub-step {key!r} (known: {known})")
        if key in limits:
            raise ValueError(f"sub-step {key!r} is given twice")
        digits = value.isascii() and value.isdigit() and len(value) <= len(str(MOST_AT_ONCE))
        if not digits or not 1 <= int(value) <= MOST_AT_ONCE:
            raise ValueError(
                f"the limit of {key} must be a whole number from 1 to {MOST_AT_ONCE:,}, "
                f"got {value!r}"
            )
        limits[key] = int(value)
    return limits


def sqlite_path_of(url: str) -> str:
    """The SQLite file (or ':memory:') a `sqlite://` URL names: `sqlite:///x.db` is `x.db`."""
    path = url.removeprefix("sqlite://")
    return path[1:] if path.startswith("/") else path


def names_no_file(path: str) -> bool:
    """True for an SQLite path that is empty or ends in a directory (`""`, `/`, `data/`, `.`)."""
    return not path.strip() or path.endswith("/") or Path(path).name in ("", ".", "..")


def api_url_fault(url: str) -> str | None:
    """Why `url` cannot be the registration API's base URL (None: it can)."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "it holds spaces or control characters"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return "it does not start with http:// or https://"
    try:
        host, _ = parts.hostname, parts.port  # reading the port checks it
    except ValueError:
        return "its port is not a number from 0 to 65535"
    if not host:
        return "it names no host"
    if parts.query or parts.fragment:
        return "a base URL has no ?query or #fragment (paths are added to it)"
    return None


def postgres_url_fault(url: str) -> str | None:
    """Why `url`, a `postgresql://` URL, cannot name a server (None: it can, or is no such URL).
    What libpq said is not repeated: it quotes the part it could not read, a password too."""
    if not url.startswith(("postgresql://", "postgres://")):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return "it is not a URL (a bracket of an IPv6 address not closed?)"
    try:
        _ = parts.port  # reading the port checks it
    except ValueError:
        return "its port is not a number from 0 to 65535"
    try:
        conninfo_to_dict(url)
    except psycopg.Error:
        return (
            "it is not a PostgreSQL connection URL: postgresql://user:password@host:port/db "
            "(spaces and other reserved characters percent-encoded), with libpq's parameters "
            "after '?'"
        )
    return None


def unread_variables(environ: Mapping[str, str]) -> list[str]:
    """What to say of each `REGFLOW_` variable of `environ`, or of the `.env` file, that names
    no setting (a misspelt one would leave its setting at the default, silently), with the
    setting it may mean."""
    known = [name.upper() for name in Settings.model_fields]
    where = dict.fromkeys(env_file_names(), f" (in {ENV_FILE})") | dict.fromkeys(environ, "")
    said = []
    for name in sorted(n for n in where if n.upper().startswith("REGFLOW_")):
        if name[8:].upper() in known:  # read whatever its case, as every setting is
            continue
        close = difflib.get_close_matches(name[8:].upper(), known, n=1, cutoff=0.75)
        meant = f" (did you mean REGFLOW_{close[0]}?)" if close else ""
        said.append(f"{name}{where[name]} is not a setting regflow reads{meant}; it is ignored")
    return said


def env_file_names() -> list[str]:
    """The names the `.env` file gives values to (none when it is not a readable file: reading
    the settings says why)."""
    if not Path(ENV_FILE).is_file():
        return []
    try:
        return list(dotenv_values(ENV_FILE, encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return []


class LogSettings(BaseSettings):
    """The log's format, read from the same environment as every other setting and on its own
    first: a process whose other settings are refused says so in the format asked for."""

    # An empty variable (`REGFLOW_WORKER_ID=` in a compose file) means unset, as it does to
    # a person reading it: the default applies. A refused value is never repeated in the
    # error (it may be a secret).
    model_config = SettingsConfigDict(
        env_prefix="REGFLOW_",
        env_file=ENV_FILE,
        extra="ignore",
        env_ignore_empty=True,
        hide_input_in_errors=True,
    )

    log_format: Literal["text", "json"] = "text"

    def __init__(self, **values: Any) -> None:
        # The library skips a `.env` that is a folder, silently, and its settings with it.
        if values.get("_env_file", ENV_FILE) == ENV_FILE and Path(ENV_FILE).is_dir():
            raise SettingsFileUnreadable("it is a folder, not a file")
        try:
            super().__init__(**values)
        except UnicodeDecodeError as exc:  # the environment's values are text already
            raise SettingsFileUnreadable(
                f"byte {exc.start} is not UTF-8 text (settings files are read as UTF-8)"
            ) from None


class Settings(LogSettings):
    """Every knob of a regflow process."""

    database_url: str = "sqlite:///./regflow.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)  # as `--port` takes it
    registration_api_url: str | None = None
    service_key: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    api_keys: SecretStr | None = None
    secret_key: SecretStr | None = None
    old_secret_keys: SecretStr | None = Field(
        default=None,
        description="earlier passphrases, read by `rotate-keys` only: tried as written whole, "
        'and as a JSON list of strings (`["a,b", " c "]`) or else each comma-separated piece, '
        "as written and trimmed",
    )
    lease_seconds: float = Field(
        default=30.0,
        ge=LEAST_LEASE_SECONDS,
        le=MOST_LEASE_SECONDS,
        allow_inf_nan=False,
        description="a running job's lease, in seconds: at least 1 and at most a day (86400); "
        "a worker that dies is noticed when its leases expire, so a longer one only delays "
        "recovery, and one renewed within a store's round trip or two is lost as it is taken",
    )
    max_concurrent_jobs: int = Field(default=16, ge=1, le=MOST_AT_ONCE)
    max_concurrent_calls: int = Field(default=32, ge=1, le=MOST_AT_ONCE)
    role: Literal["all", "api", "worker"] = "all"
    worker_id: str | None = Field(
        default=None,
        description="this process's worker identity, written into its leases and events and "
        f"shown in logs: at most {MAX_IDENTITY} characters, no control, format or "
        "line-breaking character",
    )
    default_org: str = Field(default="dev", min_length=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=MOST_BYTES)
    max_batch_bytes: int = Field(default=32 * 1024 * 1024, ge=1024, le=MOST_BYTES)
    postgres_pool_size: int = Field(default=5, ge=1, le=MOST_POOLED)
    api_max_in_flight: int | None = Field(default=None, ge=1, le=MOST_AT_ONCE)
    api_rate_per_s: float | None = Field(
        default=None,
        description="calls started per second towards the registration API, all workers "
        f"together: from {LEAST_RATE_SAID} to {MOST_RATE_PER_S:g}",
    )
    api_limits: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _whole_numbers_in_digits(cls, value: Any, info: ValidationInfo) -> Any:
        """A count is written in digits, as a query's number is: `16.0`, `+5` and `1_000` are
        refused rather than read as whole numbers."""
        name = info.field_name
        annotation = cls.model_fields[name].annotation if name else None
        if isinstance(value, str) and annotation in (int, int | None):
            try:
                return whole_number(value.strip())
            except ValueError:  # its words quote the value, which a refusal never repeats
                raise ValueError("not a whole number written in digits") from None
        return value

    @field_validator("api_limits")
    @classmethod
    def _valid_limits(cls, value: str | None) -> str | None:
        try:
            parse_limits(value)
        except ValueError as exc:
            raise ValueError(f"REGFLOW_API_LIMITS: {exc}") from None
        return value

    @field_validator("api_rate_per_s")
    @classmethod
    def _sane_rate(cls, value: float | None) -> float | None:
        if value is not None and not LEAST_RATE_PER_S <= value <= MOST_RATE_PER_S:
            raise ValueError(
                f"REGFLOW_API_RATE_PER_S: calls started per second, from {LEAST_RATE_SAID} to "
                f"{MOST_RATE_PER_S:g}; leave it unset for no rate limit"
            )
        return value

    @field_validator("worker_id")
    @classmethod
    def _printable_worker_id(cls, value: str | None) -> str | None:
        if value is not None and (errors := identity_errors(value, "REGFLOW_WORKER_ID")):
            raise ValueError("; ".join(errors))
        return value

    @field_validator("default_org")
    @classmethod
    def _valid_default_org(cls, value: str) -> str:
        if errors := organisation_errors(value, "REGFLOW_DEFAULT_ORG"):
            raise ValueError("; ".join(errors))
        return value

    @field_validator("api_keys")
    @classmethod
    def _valid_api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if not parse_api_keys(reveal(value)) and reveal(value) is not None:
            raise ValueError(
                "REGFLOW_API_KEYS names no key (it holds only blanks or commas): give org:key "
                "pairs, or leave it empty for none"
            )
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _strong_jwt_secret(cls, value: SecretStr | None) -> SecretStr | None:
        secret = reveal(value)
        if secret is not None and (not secret.strip() or len(secret) < LEAST_JWT_SECRET):
            raise ValueError(
                f"REGFLOW_JWT_SECRET must be at least {LEAST_JWT_SECRET} characters, not all "
                "blanks (an HS256 key of fewer than 256 bits is guessed, RFC 7518); leave it "
                "empty for none"
            )
        return value

    @field_validator("secret_key", "old_secret_keys")
    @classmethod
    def _not_only_blanks(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        text = reveal(value)
        if text is not None and not text.strip():
            name = f"REGFLOW_{(info.field_name or '').upper()}"
            listed = ' (a blank one that wrapped keys is given as a JSON list: [" "])'
            raise ValueError(
                f"{name} is only blanks, which is no passphrase; leave it empty for none"
                + (listed if info.field_name == "old_secret_keys" else "")
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("REGFLOW_DATABASE_URL has blanks around it: write the URL alone")
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("REGFLOW_DATABASE_URL must start with sqlite:// or postgresql://")
        if fault := postgres_url_fault(value):
            raise ValueError(f"REGFLOW_DATABASE_URL: {fault}")
        # `sqlite:///` would otherwise be a store that vanishes with the process, unasked.
        if value.startswith("sqlite://") and names_no_file(sqlite_path_of(value)):
            raise ValueError(
                "REGFLOW_DATABASE_URL names no SQLite file: write sqlite:///path/to/regflow.db "
                f"(or sqlite:///{IN_MEMORY} for a store that lasts only as long as the process)"
            )
        return value

    @field_validator("registration_api_url")
    @classmethod
    def _api_url_or_simulator(cls, value: str | None) -> str | None:
        url = (value or "").strip()
        if url and url != SIMULATOR and (fault := api_url_fault(url)):
            raise ValueError(
                f"REGFLOW_REGISTRATION_API_URL must be '{SIMULATOR}' or the registration API's "
                f"absolute http:// or https:// base URL: {fault}"
            )
        return value

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def uses_simulator(self) -> bool:
        """True when the engine calls the built-in simulator (asked for, or the SQLite default)."""
        url = (self.registration_api_url or "").strip()
        return url == SIMULATOR or (not url and not self.is_postgres)

    def require_registration_api(self) -> None:
        """Refuse to run the engine on PostgreSQL unless a registration API was named."""
        if self.is_postgres and not (self.registration_api_url or "").strip():
            raise RegistrationApiMissing()

    @property
    def registration_api_label(self) -> str:
        """Which registration API the engine's calls go to: `simulator` or the URL's host."""
        if self.uses_simulator:
            return SIMULATOR
        parts = urlsplit((self.registration_api_url or "").strip())
        return parts.netloc.rpartition("@")[2] or (self.registration_api_url or "")

    @property
    def sqlite_path(self) -> str:
        """The SQLite file (or ':memory:') named by the database URL."""
        return sqlite_path_of(self.database_url)

    @property
    def is_in_memory(self) -> bool:
        """True for the store `sqlite:///:memory:` names, which lives only in this process."""
        return not self.is_postgres and self.sqlite_path == IN_MEMORY

    def require_existing_store(self) -> None:
        """Refuse to read an SQLite store that is not there: opening it would make a new one."""
        if not (self.is_postgres or self.is_in_memory or Path(self.sqlite_path).exists()):
            raise StoreMissing(self.data_location)

    @property
    def data_location(self) -> str:
        if self.is_postgres:
            parts = urlsplit(self.database_url)
            return f"{parts.hostname}:{parts.port or 5432}/{parts.path.lstrip('/')}"
        return str(Path(self.sqlite_path).resolve())

    @property
    def effective_worker_id(self) -> str:
        """A stable identity: the same host and data location give the same worker."""
        return self.worker_id or f"{socket.gethostname()}:{self.data_location}"

    def postgres_conninfo(self) -> str:
        """The database URL as a libpq connection string: every parameter kept, values quoted."""
        return make_conninfo(self.database_url)

    def postgres_parts(self) -> dict[str, str]:
        """The five parameters the eventsourcing library takes, with libpq's defaults filled in."""
        parts = conninfo_to_dict(self.database_url)
        return {
            "host": str(parts.get("host") or "127.0.0.1"),
            "port": str(parts.get("port") or 5432),
            "user": str(parts.get("user") or "postgres"),
            "password": str(parts.get("password") or ""),
            "dbname": str(parts.get("dbname") or "postgres"),
        }

    def postgres_extra(self) -> str:
        """The URL's other parameters (sslmode, options, ...) as a connection string."""
        parts = conninfo_to_dict(self.database_url)
        return make_conninfo("", **{k: v for k, v in parts.items() if k not in LIBRARY_PARAMETERS})
