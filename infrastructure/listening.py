"""Where a server listens: its socket, bound before the server starts anything, and the error
that names the address when it cannot be."""

from __future__ import annotations

import errno
import os
import socket

from domain.exceptions import RegflowError


class CannotListen(RegflowError):
    """The address to serve on is taken, not this machine's or no address at all."""


def listening_socket(host: str, port: int, named_by: str = "--host and --port") -> socket.socket:
    """A socket bound to `host`:`port`, taken before anything starts, so that a second server
    started on a port in use says so and exits before it starts anything on the store;
    `named_by`: the options or settings that choose the address, for the error."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address, family=family)
    except OSError as exc:
        # A name that does not resolve (`999.1.1.1`) is a gaierror, whose errno is no errno.
        if isinstance(exc, socket.gaierror) or not exc.errno:
            reason = exc.strerror or str(exc)
        else:
            reason = os.strerror(exc.errno)
        taken = " Is another regflow server running there?" if exc.errno == errno.EADDRINUSE else ""
        raise CannotListen(
            f"cannot listen on {host}:{port}: {reason}.{taken} Choose the address with {named_by}."
        ) from None
