"""What every kind of test shares: restaurants to register, and waiting on a condition."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hypothesis import strategies as st

from domain.limits import reads_as_credential
from infrastructure.usecases.idempotency import MAX_IDEMPOTENCY_KEY

T = TypeVar("T")
PASSWORD = "hunter2-very-secret"
# Any key a client may send as Idempotency-Key: printable text up to the longest allowed,
# that does not read as a credential.
IDEMPOTENCY_KEYS = (
    st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=MAX_IDEMPOTENCY_KEY,
    )
    .filter(str.isprintable)
    .filter(lambda key: not reads_as_credential(key))
)
# Keys refused for reading as a credential: shown masked in one place, they would be shown
# as they are in another.
CREDENTIAL_KEYS = ["password=hunter2", "token: abc123", "Bearer abcdef123456", "4111111111111111"]


def full_config(name: str = "Buzz", password: str = PASSWORD, **changes: Any) -> dict[str, Any]:
    """An execution_config that enables all twelve sub-steps, with `changes` applied."""
    config: dict[str, Any] = {
        "account": {"email": f"{name.lower()}@example.com", "password": password, "phone": "021"},
        "restaurant": {"name": name, "address": "1 Queen St", "city": "Auckland"},
        "menu": {"menu_id": f"m-{name.lower()}"},
        "payment": {"enabled": True},
        "onboarding_user": {"enabled": True},
    }
    return config | changes


def restaurant(
    name: str = "Buzz", external_id: str | None = None, **changes: Any
) -> dict[str, Any]:
    """A restaurant with every section on and a password to keep secret."""
    return {
        "name": name,
        "external_id": external_id or f"r-{uuid.uuid4().hex[:12]}",
        "execution_config": full_config(name, **changes),
    }


def restaurants(count: int, **changes: Any) -> list[dict[str, Any]]:
    """`count` restaurants R0, R1, ... with every section on."""
    return [restaurant(f"R{i}", f"r-{i}", **changes) for i in range(count)]


def until(condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.01) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


async def eventually(
    condition: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02
) -> None:
    """Wait for `condition` without blocking the loop; fail after `timeout` seconds."""
    await eventually_value(lambda: _now(condition()), timeout, interval)


async def eventually_value(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 20.0, interval: float = 0.02
) -> T:
    """The first value other than None that `probe` gives; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (value := await probe()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
    return value


async def _now(value: Any) -> bool | None:
    return True if value else None


def free_port() -> int:
    """A loopback port nothing listens on now (the OS's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def at_once(*actions: Callable[[], T], seconds: float = 120) -> list[T]:
    """Run every action in a thread of its own, all released together; their results (an
    action that raised, or did not end within `seconds`, has none)."""
    gate, results = threading.Barrier(len(actions)), []

    def run(action: Callable[[], T]) -> None:
        gate.wait()
        results.append(action())

    threads = [threading.Thread(target=run, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds)
    return results


def with_check_digit(digits: str) -> str:
    """`digits` with the check digit (Luhn's) that makes them a valid card number appended."""
    total = 0
    for place, digit in enumerate(map(int, reversed(digits))):
        doubled = 2 * digit if place % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return digits + str((10 - total % 10) % 10)


def card_number(seed: str) -> str:
    """A Visa card's number, valid and unique to `seed` (hex, as a test's tag)."""
    return with_check_digit("4" + str(int(seed, 16) % 10**14).zfill(14))
