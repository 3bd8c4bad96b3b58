"""The status page's short way through the ASGI stack, for the bodies a crowd asks for during an outage.

When everyone reloads the status page at once, each answer is a cached body or a 304; FastAPI's routing
(a hundred routes tried in order) and request machinery would then cost more than the answer. This middleware
sits where the intake's does (inside the metrics, body-limit and input checks) and answers a GET of one of the
exact paths below itself when the page version was read within the recheck interval and the body is cached;
anything else (a miss, a stale version, another path or method) goes on to the FastAPI route, which does the
same thing the slow way and fills the cache. The routes stay registered, so they are documented and fuzzed.

A HEAD of any public status page address (uptime and link checkers use it) is answered here as the GET it
stands for, fast or slow way alike, with the same status and headers (ETag, Content-Length, 304s) and no body.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.statuspage import face as public
from warroom.statuspage.cache import CACHE_CONTROL, not_modified

# path → (cache key, whether cross-origin reads are allowed); the keys are the ones the routes use.
PATHS: dict[str, tuple[str, bool]] = {
    "/status": ("html:status", False),
    "/api/v2/summary.json": ("v2:summary", True),
    "/api/v2/status.json": ("v2:status", True),
    "/api/v2/components.json": ("v2:components", True),
    "/api/v2/incidents.json": ("v2:incidents", True),
    "/api/v2/incidents/unresolved.json": ("v2:unresolved", True),
    "/api/v2/scheduled-maintenances.json": ("v2:maintenances", True),
    "/api/v2/scheduled-maintenances/upcoming.json": ("v2:upcoming", True),
    "/api/v2/scheduled-maintenances/active.json": ("v2:active", True),
}


def is_public(path: str) -> bool:
    """Whether `path` is one of the public status page's addresses (the page, its feeds, badges, v2 API)."""
    return path == "/status" or path.startswith(("/status/", "/api/v2/"))


def _without_body(send: Send) -> Send:
    """`send`, passing the response's start (status, headers) and dropping the bytes of its body."""

    async def head_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)

    return head_send


class StatusFastPath:
    """ASGI middleware: cached status page bodies and 304s without FastAPI's router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes: dict[str, Any] = {getattr(r, "path", ""): r for r in public.router.routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD" and is_public(scope["path"]):
            scope, send = {**scope, "method": "GET"}, _without_body(send)
        if scope["type"] == "http" and scope["method"] == "GET":
            target = PATHS.get(scope["path"])
            if target is not None and await self._answer(scope, send, *target):
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, key: str, cors: bool) -> bool:
        face = public.face_for(scope["app"].state.runtime)
        version = face.fresh_version()
        if version is None:
            return False
        inm = ims = accept = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                inm = value.decode("latin-1")
            elif name == b"if-modified-since":
                ims = value.decode("latin-1")
            elif name == b"accept-encoding":
                accept = value.decode("latin-1")
        etag = face.etag(version)
        headers = [(b"etag", etag.encode()), (b"cache-control", CACHE_CONTROL.encode()), (b"vary", b"Accept-Encoding")]
        if cors:
            headers.append((b"access-control-allow-origin", b"*"))
        scope["route"] = self.routes.get(scope["path"])  # request metrics carry the same route template
        if inm is not None and not_modified(inm, None, etag, ""):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return True
        rendered = face.cached(version, key)
        if rendered is None:
            return False
        headers.append((b"last-modified", rendered.last_modified.encode()))
        if inm is None and not_modified(None, ims, rendered.etag, rendered.last_modified):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return True
        body, gzipped = rendered.for_client(accept)
        headers.append((b"content-type", rendered.media_type.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True
