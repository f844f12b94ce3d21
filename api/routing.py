"""Routing's parts: the handler type, a route of the table, its template, and registering routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTE_TABLE = web.AppKey("route_table", tuple)


@dataclass(frozen=True)
class Route:
    """One operation: method, path, handler, and what it reads and answers."""

    method: str
    path: str
    handler: Handler
    summary: str
    answer: type[BaseModel] | None = None
    status: int = 200
    body: type[BaseModel] | None = None
    body_optional: bool = False
    query: type[BaseModel] | None = None
    public: bool = False
    api: bool = True
    uploads: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # optional request headers: name, description
    # Answers beside the success and the errors every route may give: (status, description).
    also: tuple[tuple[int, str], ...] = ()
    media: str = "application/json"  # the success answer's media type


def route_template(request: web.Request) -> str:
    """The matched route's template (never the raw path, which carries ids)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def add_routes(app: web.Application, routes: tuple[Route, ...], base: str) -> None:
    """Register `routes` (every GET also answers HEAD); list and create also answer at `base/`."""
    for route in routes:
        paths = (route.path, base + "/") if route.path == base else (route.path,)
        for path in paths:
            if route.method == "GET":
                app.router.add_get(path, route.handler, allow_head=True)
            else:
                app.router.add_route(route.method, path, route.handler)
