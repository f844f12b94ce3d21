"""Storage writes retried on transient errors, checking what was stored before a retry."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Final, TypeVar

from eventsourcing.persistence import IntegrityError

from domain.exceptions import RegflowError
from domain.retry import STORAGE_WRITE_POLICY, RetryPolicy
from infrastructure.dropped_connections import is_dropped_connection
from infrastructure.errors import classify_exception, describe_exception, is_transient_exception

T = TypeVar("T")

LOG = logging.getLogger("regflow.storage")


class AlreadyStored:
    """Marks a write found stored after an ambiguous failure: it was not repeated."""

    def __repr__(self) -> str:
        return "ALREADY_STORED"


ALREADY_STORED: Final = AlreadyStored()


class StorageRetry:
    """Runs a synchronous storage write, retrying transient failures per a RetryPolicy.

    With `check_connections` (a pool's check of its idle connections), a write that met a
    connection the server had dropped (a restart, a failover, an ended backend) is tried
    again at once, once, after the check: the pool may hold more connections dropped at the
    same moment, and the database is likely up. Only a second failure waits per the policy.
    """

    def __init__(
        self,
        policy: RetryPolicy = STORAGE_WRITE_POLICY,
        *,
        sleep: Callable[[float], None] = time.sleep,
        log: logging.Logger = LOG,
        random_fraction: Callable[[], float] = random.random,
        check_connections: Callable[[], None] | None = None,
    ) -> None:
        self.policy = policy
        self._sleep = sleep
        self._log = log
        self._random_fraction = random_fraction
        self._check_connections = check_connections

    def run(
        self,
        write: Callable[[], T],
        *,
        name: str,
        was_stored: Callable[[], bool] | None = None,
    ) -> T | AlreadyStored:
        """Run `write`; after a transient failure wait, check `was_stored`, and try again."""
        attempt = 1  # of the policy's: an attempt at once on a live connection is not one
        retried = False
        checked = self._check_connections is None
        while True:
            try:
                return write()
            except IntegrityError as exc:
                if not retried or was_stored is None:
                    raise
                if self._stored(was_stored, name):
                    return ALREADY_STORED
                self._log.error("[%s] conflict on retry: %s", name, describe_exception(exc))
                raise
            except RegflowError:
                raise  # an answer (a job not found), not a storage failure: the caller says it
            except Exception as exc:
                if checked or not (is_transient_exception(exc) and is_dropped_connection(exc)):
                    self._wait_or_raise(exc, attempt, name)
                    attempt += 1
                else:
                    checked = True
                    self._on_live_connection(exc, name)
            retried = True
            if was_stored is not None and self._stored(was_stored, name):
                return ALREADY_STORED

    def _wait_or_raise(self, exc: Exception, attempt: int, name: str) -> None:
        failure = classify_exception(exc)
        if not failure.transient:
            self._log.error("[%s] failed, not to be retried: %s", name, failure.message)
            raise exc
        if not self.policy.may_retry(attempt):
            retries = attempt - 1
            self._log.error("[%s] failed after %d retries: %s", name, retries, failure.message)
            raise exc
        delay = self.policy.delay_before(attempt, self._random_fraction())
        self._log.warning(
            "[%s] transient error, retrying in %.1fs (attempt %d/%d): %s",
            name,
            delay,
            attempt,
            self.policy.retries,
            failure.message,
        )
        self._sleep(delay)

    def _on_live_connection(self, exc: Exception, name: str) -> None:
        """Give up the pool's dropped connections before trying again at once."""
        assert self._check_connections is not None
        self._log.info(
            "[%s] a dropped connection; trying again on a live one: %s",
            name,
            describe_exception(exc),
        )
        self._check_connections()

    def _stored(self, was_stored: Callable[[], bool], name: str) -> bool:
        try:
            stored = was_stored()
        except Exception as exc:
            failure = classify_exception(exc)
            if not failure.transient:
                raise
            self._log.warning("[%s] could not check what was stored: %s", name, failure.message)
            return False
        if stored:
            self._log.info("[%s] the failed write had been stored; not repeating it", name)
        return stored
