"""`regflow rotate-keys` and `regflow erase-organisation`: the store's envelope keys."""

from __future__ import annotations

import argparse
import sys
import time

from api.cli.actor import cli_actor
from api.cli.audit import open_store, write_json
from api.cli.commands import Command, arg, json_flag
from api.cli.failures import CannotRun
from api.cli.ids import LazyViews
from api.cli.values import named_organisation
from infrastructure.chain.unreadable import FIND_TAMPERING, UNREADABLE, unreadable_log
from infrastructure.keys.ring import KEY_CACHE_SECONDS, WrongPassphrase
from infrastructure.keys.rotation import rotate
from infrastructure.keys.table import KeyTable
from infrastructure.persistence import passphrase, schema_lock
from infrastructure.settings import Settings, old_passphrases, reveal
from infrastructure.usecases.erasure import (
    ErasurePlan,
    erase_organisation,
    erasure_plan,
    forget_on_disk,
)
from infrastructure.usecases.registrations import Registrations
from projections.offline.rebuild import rebuild_all


def rotate_command(args: argparse.Namespace) -> int:
    """Re-wrap every key; the old passphrases are not needed afterwards."""
    settings = Settings()
    current, _ = passphrase(settings)
    old = old_passphrases(reveal(settings.old_secret_keys))
    table = KeyTable(settings)
    try:
        with schema_lock(settings):
            count = rotate(table, current, old)
    finally:
        table.close()
    if args.json:
        write_json({"rewrapped": count})
    else:
        print(f"re-wrapped {count} keys under the current REGFLOW_SECRET_KEY; no event rewritten")
    return 0


def _counts(app: Registrations, organisation_id: str) -> tuple[int, int]:
    """The organisation's jobs and batches, as the read models hold them once up to the log's
    head (a batch just run is counted, not missed for views a step behind)."""
    views = LazyViews(app)
    try:
        db, schema = views().db, views().schema
        where = " WHERE organisation_id = ?"
        jobs = db.fetch(f"SELECT count(*) AS n FROM {schema.jobs}{where}", (organisation_id,))
        batches = db.fetch(f"SELECT count(*) AS n FROM {schema.batches}{where}", (organisation_id,))
        return int(jobs[0]["n"]), int(batches[0]["n"])
    finally:
        views.close()


def _describe(plan: ErasurePlan, done: bool) -> str:
    verb = "erased" if done else "would erase"
    return (
        f"{verb} organisation {plan.organisation_id!r}: {plan.data_keys} data keys destroyed, "
        f"personal data and secrets of {plan.jobs} jobs and {plan.batches} batches scrubbed "
        "from the read models; every event stays in the log"
    )


def erase_command(args: argparse.Namespace) -> int:
    """Without --yes: say what would be erased. With it: erase, record, scrub."""
    with open_store() as app:
        plan = erasure_plan(app, args.organisation, *_counts(app, args.organisation))
        if args.yes:
            erase_organisation(app, plan, cli_actor())
            erased_at = time.monotonic()
            try:
                rebuild_all(app.settings, app)
            except WrongPassphrase as exc:  # the keys were re-wrapped while it ran
                raise WrongPassphrase(
                    f"organisation {plan.organisation_id!r}: its data keys are destroyed and "
                    "the erasure recorded, but the read models still show its data: the "
                    "store's keys were re-wrapped (regflow rotate-keys) while it ran. Run "
                    "`regflow erase-organisation` again with the current REGFLOW_SECRET_KEY "
                    "to scrub them"
                ) from exc
            except UNREADABLE as exc:  # another job's log, changed by hand, stops the rebuild
                if (tampered := unreadable_log(exc)) is None:
                    raise
                raise CannotRun(
                    f"organisation {plan.organisation_id!r}: its data keys are destroyed and "
                    "the erasure recorded, but the read models still show its data: they "
                    f"could not be rebuilt, as {tampered}. {FIND_TAMPERING}; once that is "
                    "repaired, run `regflow erase-organisation` again to scrub them"
                ) from exc
            for warning in forget_on_disk(app.settings):
                print(f"warning: {warning}", file=sys.stderr)
            # Running processes forget the keys within this: once it returns, none of them
            # shows the organisation's data or calls the registration API with it.
            time.sleep(max(0.0, erased_at + KEY_CACHE_SECONDS - time.monotonic()))
    if args.json:
        write_json(
            {
                "organisation_id": plan.organisation_id,
                "erased": bool(args.yes),
                "data_keys": plan.data_keys,
                "jobs": plan.jobs,
                "batches": plan.batches,
            }
        )
    else:
        print(_describe(plan, args.yes))
        if not args.yes:
            print("nothing changed: run again with --yes to erase", file=sys.stderr)
    return 0


COMMANDS = (
    Command(
        "rotate-keys",
        "re-wrap every data key under REGFLOW_SECRET_KEY, opening them with "
        "REGFLOW_OLD_SECRET_KEYS (no event is rewritten): the value whole, or a JSON list "
        "of strings, or each comma-separated piece, as written and trimmed",
        rotate_command,
        arguments=(json_flag("print the outcome as JSON"),),
    ),
    Command(
        "erase-organisation",
        "destroy an organisation's data key and scrub its personal data and secrets "
        "from the read models (the events stay); without --yes, only say what it would do",
        erase_command,
        arguments=(
            arg("organisation", metavar="ORG", type=named_organisation),
            arg("--yes", action="store_true", help="really erase"),
            json_flag("print the outcome as JSON"),
        ),
    ),
)
