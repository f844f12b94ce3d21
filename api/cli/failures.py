"""What `regflow` says when a command stops on an error: a refusal (exit 1, or as the command's
help says), or a configuration, store or file it cannot use (exit 2, which no command gives for
anything else). One line, `error: what, which store or file, why`, never a traceback or a secret.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
from urllib.parse import urlsplit

import psycopg
from eventsourcing import persistence as es
from pydantic import ValidationError

from api.cli.output import escape_control
from api.cli.streams import STANDARD_OUTPUT, OutputFailed, point_at_devnull
from domain.exceptions import RegflowError
from domain.secret_words import mask_credentials
from infrastructure.chain.unreadable import FIND_TAMPERING, UNREADABLE, unreadable_log
from infrastructure.engine.identity import WorkerIdTaken
from infrastructure.errors import describe_exception, store_unusable
from infrastructure.keys.ring import WrongPassphrase
from infrastructure.listening import CannotListen
from infrastructure.logs import logs_json_lines
from infrastructure.persistence import KeyFileMissing, SecretKeyRequired
from infrastructure.settings import (
    RegistrationApiMissing,
    Settings,
    SettingsFileUnreadable,
    StoreMissing,
)
from projections.fold_versions import ViewsRefused

log = logging.getLogger("regflow.cli")
COULD_NOT_RUN = 2
UNUSABLE = (OSError, sqlite3.DatabaseError, psycopg.Error, es.PersistenceError, *UNREADABLE)
"""The kinds of error a command that could not use a file or its store raises (a store whose
log was changed by hand among them)."""


class CannotRun(RegflowError):
    """A command cannot start on what it was given: a file it cannot read or decode, or an
    argument it needs and was not given (argparse's own usage errors also exit 2)."""


CANNOT_RUN = (
    CannotRun,
    SettingsFileUnreadable,
    StoreMissing,
    KeyFileMissing,
    SecretKeyRequired,
    CannotListen,
    RegistrationApiMissing,
    ViewsRefused,
    WrongPassphrase,
    WorkerIdTaken,
)
"""The refusals that mean the command could not run (exit 2): what it was given, a store
that is not there, whose key file is gone or whose passphrase was not given, an address it
cannot listen on, an engine with no registration API named, views built by a newer release's
folds than its own, a passphrase that does not open the store's keys, a worker id set that a
live process holds."""


def store_kind(settings: Settings) -> str:
    """`PostgreSQL` or `SQLite`."""
    return "PostgreSQL" if settings.is_postgres else "SQLite"


def store_name(settings: Settings) -> str:
    """The store as an operator names it, without a password: `SQLite store at /data/x.db`."""
    return f"{store_kind(settings)} store at {settings.data_location}"


def refused(exc: BaseException, as_json: bool = False) -> int | None:
    """Say why the command could not do its work, and return its exit code; None when `exc` is
    not a refusal or a file or store that cannot be used, but a fault in the code.

    `as_json` (the command's --json): a refusal is said as the API says one, a JSON document
    on standard output, for the script reading it; what kept the command from running (exit 2)
    is said on standard error as without it."""
    if isinstance(exc, ValidationError):
        return configuration_refused(exc) if exc.title == Settings.__name__ else None
    if isinstance(exc, RegflowError):
        could_not = isinstance(exc, CANNOT_RUN)
        if as_json and not could_not:
            message = mask_credentials(exc.message)
            errors = [mask_credentials(e) for e in exc.errors]
            print(json.dumps({"success": False, "message": message, "errors": errors}))
            return 1
        say(exc.message, exc.errors if exc.errors != [exc.message] else [])
        return COULD_NOT_RUN if could_not else 1
    if isinstance(exc, OSError) and exc.filename is not None:
        return could_not_run(unusable_file(exc))
    if (tampered := unreadable_log(exc)) is not None:
        return could_not_run(f"{tampered}; {FIND_TAMPERING}")
    cause = store_unusable(exc)
    if cause is None:
        return None
    return could_not_run(unusable_store(cause))


def unusable_file(exc: OSError) -> str:
    """`cannot open FILE: why`, for an error that names the file it could not use."""
    reason = exc.strerror or describe_exception(exc)
    if exc.filename2 is not None:
        return f"cannot move {exc.filename} to {exc.filename2}: {reason}"
    return f"cannot open {exc.filename}: {reason}"


def unusable_store(cause: BaseException) -> str:
    """`cannot use the PostgreSQL store at host:port/db: why`, the password never shown."""
    settings = Settings()
    reason = describe_exception(cause)
    password = urlsplit(settings.database_url).password if settings.is_postgres else None
    if password:  # a driver may repeat the URL it was given
        reason = reason.replace(settings.database_url, "<REGFLOW_DATABASE_URL>")
        reason = reason.replace(f":{password}@", ":***@")
    return f"cannot use the {store_name(settings)}: {reason}"


def output_failed(exc: OutputFailed) -> int:
    """Say which output could not be written and why; exit 2. A standard stream that failed is
    pointed at /dev/null, so that what it still holds cannot fail the interpreter's last flush
    (standard error, when it is the one that failed, says nothing)."""
    if exc.filename == STANDARD_OUTPUT:
        point_at_devnull(sys.stdout)
    try:
        say(f"cannot write {exc.filename}: {exc.strerror or describe_exception(exc)}")
        sys.stderr.flush()
    except OutputFailed:
        point_at_devnull(sys.stderr)
    return COULD_NOT_RUN


def could_not_run(message: str) -> int:
    """Say `message` as the reason the command could not run; its exit code."""
    say(message)
    return COULD_NOT_RUN


def say(message: str, details: list[str] | tuple[str, ...] = ()) -> None:
    """`error: message` on standard error, then one indented line per detail; credentials
    masked (a refusal quoting a value given to a secret's name masks it where it quotes it:
    here `file.key: No such file` would read as one), all escaped.
    A process whose log is JSON lines (`serve`, `work`) says it as one of them."""
    if logs_json_lines():
        text = message.removesuffix(":")  # its details are a field of the line, not below it
        log.error("%s", text, extra={"fields": {"errors": list(details) or None}})
        return
    print(f"error: {escape_control(mask_credentials(message))}", file=sys.stderr)
    for detail in details:
        print(f"  - {escape_control(mask_credentials(detail))}", file=sys.stderr)


def configuration_refused(exc: ValidationError) -> int:
    """One line per setting the environment got wrong (never its value: it may be a secret)."""
    errors = []
    for error in exc.errors():
        name = "REGFLOW_" + "_".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        errors.append(message if message.startswith(name) else f"{name}: {message}")
    say("the configuration is not valid:", errors)
    return COULD_NOT_RUN
