"""The operator console: static files served at `/`, no auth needed to load them."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static/"
PAGE_ROUTES = ("/", "/batches", "/batches/{batch_id}", "/jobs/{job_id}")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def console_page(request: web.Request) -> web.FileResponse:
    """The console's single page, for `/` and every client-side route."""
    return web.FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


def is_console_path(path: str) -> bool:
    """Whether `path` is a console page or asset: an auth middleware lets these through."""
    if path.startswith(STATIC_PREFIX) or path in ("/", "/batches", "/favicon.ico"):
        return True
    parts = path.strip("/").split("/")
    return len(parts) == 2 and parts[0] in ("batches", "jobs") and bool(parts[1])


async def favicon(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "favicon.svg", headers={"Cache-Control": "max-age=86400"})


def add_console_routes(app: web.Application) -> None:
    """Serve the console: its page at `/` and client routes, its assets under `/static/`."""
    for path in PAGE_ROUTES:
        app.router.add_get(path, console_page)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, append_version=False)
