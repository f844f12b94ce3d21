"""A PostgreSQL store whose pool hands out no connection: the wait that timed out is given up
on at once as a transient error (regflow's own policies retry it), where the library retried
it ten times over, about 50 s for one read while the database refused connections."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing

import pytest

from infrastructure.chain.pool_waits import PoolWaitTimedOut
from infrastructure.errors import is_transient_exception
from infrastructure.usecases.registrations import Registrations
from tests.conftest import store_settings

pytestmark = pytest.mark.postgres


def test_a_read_that_waits_out_the_pool_is_not_retried_by_the_library(pg_url: str) -> None:
    settings = store_settings(pg_url, postgres_pool_size=1)
    with closing(Registrations(settings)) as app:
        datastore = app.recorder.datastore
        waits = []
        acquire = datastore.pool.getconn

        def counted(*args: object, **kwargs: object) -> object:
            waits.append(1)
            return acquire(*args, **kwargs)  # type: ignore[arg-type]

        with ExitStack() as held:
            for _ in range(datastore.pool.max_size):  # every connection the pool may open
                held.enter_context(datastore.get_connection())
            datastore.pool.getconn = counted
            with ThreadPoolExecutor(1) as other:
                read = other.submit(app.recorder.max_notification_id)
                with pytest.raises(PoolWaitTimedOut) as raised:
                    read.result(timeout=120)
        assert waits == [1]
        assert is_transient_exception(raised.value)
