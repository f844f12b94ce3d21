"""Ids as shown are ids as accepted: a unique prefix (8 characters or more) of a job or batch id."""

from __future__ import annotations

import uuid
from typing import Any

from api.cli.commands import Arg, arg
from api.cli.output import SHORT_ID
from domain.exceptions import InvalidInput, NotFound
from domain.secret_words import scrub_text
from infrastructure.chain.unreadable import UNREADABLE, tampered_aggregate
from infrastructure.usecases.registrations import Registrations
from projections.live.service import ReadModelService
from projections.offline.rebuild import rebuilder


def id_argument(kind: str, **options: Any) -> Arg:
    """The argument naming a job or batch ("job" or "batch"): in full, or by a unique prefix."""
    help = f"the {kind} id, or its first {SHORT_ID}+ characters"
    return arg(kind, metavar=kind.upper(), help=help, **options)


def is_full_id(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def resolve(kind: str, given: str, views: LazyViews, organisation_id: str | None = None) -> str:
    """The one id of `kind` ("job" or "batch") that `given` names in full or by its start."""
    text = given.strip().lower()
    quoted = scrub_text(given)  # what was typed, as a refusal may quote it (`password=...`)
    if is_full_id(text):
        return text
    if len(text) < SHORT_ID or any(c not in "0123456789abcdef-" for c in text):
        raise InvalidInput(
            f"Not a {kind} id: '{quoted}'. Give the id, or its first {SHORT_ID} characters "
            "or more, as the tables print them."
        )
    try:
        found = views().ids_starting_with(kind, text, organisation_id, limit=5)
    except UNREADABLE as stopped:
        # The read models stop at an event changed by hand, of whichever job: the id is looked
        # for as far as they reach, then in the log itself (the command then reads the job,
        # and says what is wrong if it is that one). Not found, it may be the job whose log
        # stopped them (its first event deleted): that is said.
        found = views(caught_up=False).ids_starting_with(kind, text, organisation_id, limit=5)
        if not found and organisation_id is None:
            found = views.app.ids_in_log_starting_with(kind, text, limit=5)
        named = tampered_aggregate(stopped)
        if not found and (organisation_id is not None or named is None or named.startswith(text)):
            raise
    if not found:
        raise NotFound(f"No {kind} id starts with '{quoted}'")
    if len(found) > 1:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise InvalidInput(
            f"The {kind} id prefix '{given}' is ambiguous: it starts {shown}. Give more characters."
        )
    return found[0]


class LazyViews:
    """The read models, opened and brought up to the log's head on first use only: as a server
    would, this process rebuilds views built by an older release's folds first, and refuses
    (ViewsRefused) views built by a newer release's."""

    def __init__(self, app: Registrations) -> None:
        self.app = app
        self._views: ReadModelService | None = None
        self._caught_up = False

    def __call__(self, caught_up: bool = True) -> ReadModelService:
        """The read models at the log's head; `caught_up` False: as far as they reach when an
        event changed by hand stops them (UNREADABLE otherwise)."""
        if self._views is None:
            rebuild = rebuilder(self.app.settings, self.app)
            self._views = ReadModelService(self.app.settings, self.app, rebuild=rebuild)
        if not self._caught_up:
            try:
                self._views.catch_up()
            except UNREADABLE:
                if caught_up:
                    raise
                return self._views
            self._caught_up = True
        return self._views

    def close(self) -> None:
        if self._views is not None:
            self._views.close()
            self._views = None


def full_id(app: Registrations, kind: str, given: str) -> str:
    """`resolve` on the store `app` opened: for commands that hold the use-case layer already."""
    if is_full_id(given.strip().lower()):
        return given.strip().lower()
    views = LazyViews(app)
    try:
        return resolve(kind, given, views)
    finally:
        views.close()
