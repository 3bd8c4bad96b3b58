"""Public routes of the status page (its public face): `/status` (HTML), the Statuspage v2 JSON API, feeds, badges.

No token: everything here is what a company shows the world, built from the snapshot alone (which holds no
internal detail). Each route is thin: it names a cache key and how to build the body; `PublicFace` does the
versioning, 304s and caching. The HTML and feed routes stay out of the OpenAPI document; the JSON ones are in
it (and fuzzed).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from importlib.resources import files
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from warroom.errors import NotFound
from warroom.problems import problem
from warroom.runtime import Runtime
from warroom.statuspage import feeds, pages, v2
from warroom.statuspage.cache import CACHE_CONTROL, PublicFace, Rendered, not_modified
from warroom.statuspage.snapshot import PageSnapshot
from warroom.statuspage.source import ServiceSource, SnapshotSource

router = APIRouter()

HTML = "text/html; charset=utf-8"
JSON = "application/json"
HISTORY_PER_PAGE = 20
FEED_ITEMS = 50
# Public ids are slugs or generated ids; anything else is answered 404 without touching the database.
PUBLIC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
STYLESHEET = files("warroom").joinpath("web/static/status/status.css").read_bytes()

Build = Callable[[Session, PageSnapshot, datetime], tuple[bytes, str]]


def _dump(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body)


def default_source(runtime: Runtime) -> SnapshotSource:
    """The statuspage domain's service with warroom.yaml's `status_page:` settings; a page with no `url` of its
    own links to WARROOM_PUBLIC_URL (or this server's own address), so feeds and shortlinks are absolute."""
    settings = runtime.config.status_page
    if not settings.url:
        host = runtime.settings.host if runtime.settings.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
        fallback = runtime.settings.public_url or f"http://{host}:{runtime.settings.port}"
        settings = settings.model_copy(update={"url": fallback.rstrip("/")})
    return ServiceSource(settings)


def face_for(runtime: Runtime) -> PublicFace:
    """The process's public face (made on first use): `runtime.extras` may set `statuspage_source` and
    `statuspage_recheck` (seconds a page version is trusted before it is read again; tests use 0)."""
    face = runtime.extras.get("statuspage_face")
    if face is None:
        source = runtime.extras.get("statuspage_source") or default_source(runtime)
        face = PublicFace(
            source,
            runtime.db.session,
            clock=runtime.clock.now,
            recheck=float(runtime.extras.get("statuspage_recheck", 1.0)),
        )
        runtime.extras["statuspage_face"] = face
    return face


def _headers(rendered_etag: str, last_modified: str | None, *, cors: bool) -> dict[str, str]:
    headers = {"ETag": rendered_etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if last_modified:
        headers["Last-Modified"] = last_modified
    if cors:
        headers["Access-Control-Allow-Origin"] = "*"
    return headers


def _not_found(request: Request, detail: str) -> Response:
    if request.url.path.startswith("/api/v2/") or request.url.path.endswith(".json"):
        # Problem details, as every warroom API error (and as the OpenAPI document says a 404 is).
        return problem(404, "Not found", detail, headers={"Access-Control-Allow-Origin": "*"})
    html = pages.render_error(None, status=404, title="Not found", detail=detail)
    return Response(html, status_code=404, media_type=HTML, headers={"Cache-Control": "no-store"})


async def serve(request: Request, key: str, build: Build, *, cors: bool = False) -> Response:
    """The body of `key` for the current page version: 304 when the client has it, from the cache when
    rendered before, else rendered now (in a worker thread: it reads the database)."""
    face = face_for(request.app.state.runtime)
    version = face.fresh_version()
    if version is None:
        version = await run_in_threadpool(face.read_version)
    etag = face.etag(version)
    inm = request.headers.get("if-none-match")
    if inm is not None and not_modified(inm, None, etag, ""):
        return Response(status_code=304, headers=_headers(etag, None, cors=cors))
    rendered: Rendered | None = face.cached(version, key)
    if rendered is None:
        try:
            rendered = await run_in_threadpool(face.render, key, build)
        except NotFound as exc:
            return _not_found(request, exc.detail)
    since = request.headers.get("if-modified-since")
    headers = _headers(rendered.etag, rendered.last_modified, cors=cors)
    if inm is None and not_modified(None, since, rendered.etag, rendered.last_modified):
        return Response(status_code=304, headers=headers)
    body, gzipped = rendered.for_client(request.headers.get("accept-encoding"))
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=rendered.media_type, headers=headers)


def _json(make: Callable[[PageSnapshot], dict[str, Any]]) -> Build:
    return lambda _session, snapshot, _now: (_dump(make(snapshot)), JSON)


def _with_past(request: Request, make: Callable[[PageSnapshot, list[Any]], dict[str, Any]]) -> Build:
    source = _source(request)

    def build(session: Session, snapshot: PageSnapshot, now: datetime) -> tuple[bytes, str]:
        past, _ = source.history(session, page=1, per_page=FEED_ITEMS, now=now)
        return _dump(make(snapshot, past)), JSON

    return build


def _source(request: Request) -> SnapshotSource:
    return face_for(request.app.state.runtime).source


# ---- HTML ---------------------------------------------------------------------------------------------------


@router.get("/status", include_in_schema=False)
async def status_page(request: Request) -> Response:
    """The public status page."""
    return await serve(request, "html:status", lambda _s, snap, _n: (pages.render_status(snap).encode(), HTML))


@router.get("/status/status.css", include_in_schema=False)
async def stylesheet(request: Request) -> Response:
    """The page's one stylesheet, shipped in the package."""
    etag = PublicFace.etag("css")
    headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(STYLESHEET, media_type="text/css; charset=utf-8", headers=headers)


def _page_number(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or len(raw) > 6:
        return None
    return int(raw)


@router.get("/status/history", include_in_schema=False)
async def history_page(request: Request) -> Response:
    """Past incidents and maintenance, newest first, 20 a page (`?page=N`)."""
    number = _page_number(request.query_params.get("page"))
    if number is None or number < 1:
        return _not_found(request, "No such history page: `page` must be a whole number from 1.")

    source = _source(request)

    def build(session: Session, snapshot: PageSnapshot, now: datetime) -> tuple[bytes, str]:
        items, total = source.history(session, page=number, per_page=HISTORY_PER_PAGE, now=now)
        count = max(1, math.ceil(total / HISTORY_PER_PAGE))
        if number > count:
            raise NotFound(f"No history page {number}: there are {count}.")
        return pages.render_history(snapshot, items, page=number, pages=count).encode(), HTML

    return await serve(request, f"html:history:{number}", build)


@router.get("/status/incidents/{public_id}", include_in_schema=False)
async def incident_page(request: Request, public_id: str) -> Response:
    """One incident or maintenance with all its public updates."""
    if not PUBLIC_ID.fullmatch(public_id):
        return _not_found(request, "No such incident.")

    source = _source(request)

    def build(session: Session, snapshot: PageSnapshot, now: datetime) -> tuple[bytes, str]:
        item = source.public_incident(session, public_id, now=now)
        return pages.render_incident(snapshot, item).encode(), HTML

    return await serve(request, f"html:incident:{public_id}", build)


# ---- Feeds and badges ---------------------------------------------------------------------------------------


def _feed(request: Request, render: Callable[[PageSnapshot, list[Any]], bytes], media_type: str) -> Build:
    source = _source(request)

    def build(session: Session, snapshot: PageSnapshot, now: datetime) -> tuple[bytes, str]:
        items, _ = source.history(session, page=1, per_page=FEED_ITEMS, now=now)
        current = [*snapshot.incidents, *snapshot.maintenances]
        seen = {i.id for i in current}
        merged = sorted([*current, *(i for i in items if i.id not in seen)], key=lambda i: i.updated_at, reverse=True)
        return render(snapshot, merged[:FEED_ITEMS]), media_type

    return build


@router.get("/status/history.atom", include_in_schema=False)
async def history_atom(request: Request) -> Response:
    """Atom feed of the latest 50 incidents and maintenances."""
    return await serve(request, "feed:atom", _feed(request, feeds.atom, "application/atom+xml; charset=utf-8"))


@router.get("/status/history.rss", include_in_schema=False)
async def history_rss(request: Request) -> Response:
    """RSS 2.0 feed of the latest 50 incidents and maintenances."""
    return await serve(request, "feed:rss", _feed(request, feeds.rss, "application/rss+xml; charset=utf-8"))


@router.get("/status/badge/{component_id}.json", tags=["status page"], response_model=None)
async def badge(request: Request, component_id: str) -> Response:
    """A shields.io endpoint badge for one component (schemaVersion 1: label, message, color)."""
    if not PUBLIC_ID.fullmatch(component_id):
        return _not_found(request, "No such component.")

    def build(_session: Session, snapshot: PageSnapshot, _now: datetime) -> tuple[bytes, str]:
        for item in snapshot.components:
            if item.id == component_id:
                return _dump(feeds.badge(item)), JSON
        raise NotFound(f"No component '{component_id}'.")

    return await serve(request, f"badge:{component_id}", build, cors=True)


# ---- Statuspage v2 ------------------------------------------------------------------------------------------

V2 = "/api/v2"
V2_TAGS: list[str | Any] = ["status page"]


@router.get(f"{V2}/summary.json", tags=V2_TAGS, response_model=None)
async def summary(request: Request) -> Response:
    """Statuspage v2 summary: page, components, unresolved incidents, upcoming and active maintenance, status."""
    return await serve(request, "v2:summary", _json(v2.summary_body), cors=True)


@router.get(f"{V2}/status.json", tags=V2_TAGS, response_model=None)
async def status_json(request: Request) -> Response:
    """Statuspage v2 status: the indicator (none, minor, major, critical) and its description."""
    return await serve(request, "v2:status", _json(v2.status_body), cors=True)


@router.get(f"{V2}/components.json", tags=V2_TAGS, response_model=None)
async def components_json(request: Request) -> Response:
    """Statuspage v2 components, groups included (`group: true`)."""
    return await serve(request, "v2:components", _json(v2.components_body), cors=True)


@router.get(f"{V2}/incidents.json", tags=V2_TAGS, response_model=None)
async def incidents_json(request: Request) -> Response:
    """Statuspage v2 incidents: the 50 most recent, unresolved first."""
    build = _with_past(request, lambda snap, past: v2.incidents_body(snap, past, unresolved_only=False))
    return await serve(request, "v2:incidents", build, cors=True)


@router.get(f"{V2}/incidents/unresolved.json", tags=V2_TAGS, response_model=None)
async def unresolved_json(request: Request) -> Response:
    """Statuspage v2 unresolved incidents."""
    build = _json(lambda snap: v2.incidents_body(snap, [], unresolved_only=True))
    return await serve(request, "v2:unresolved", build, cors=True)


@router.get(f"{V2}/scheduled-maintenances.json", tags=V2_TAGS, response_model=None)
async def maintenances_json(request: Request) -> Response:
    """Statuspage v2 scheduled maintenances: upcoming and in progress, then the most recent past ones."""
    build = _with_past(request, lambda snap, past: v2.maintenances_body(snap, past, "all"))
    return await serve(request, "v2:maintenances", build, cors=True)


@router.get(f"{V2}/scheduled-maintenances/upcoming.json", tags=V2_TAGS, response_model=None)
async def upcoming_json(request: Request) -> Response:
    """Statuspage v2 upcoming maintenances (status `scheduled`)."""
    return await serve(
        request, "v2:upcoming", _json(lambda snap: v2.maintenances_body(snap, [], "upcoming")), cors=True
    )


@router.get(f"{V2}/scheduled-maintenances/active.json", tags=V2_TAGS, response_model=None)
async def active_json(request: Request) -> Response:
    """Statuspage v2 active maintenances (`in_progress` or `verifying`)."""
    return await serve(request, "v2:active", _json(lambda snap: v2.maintenances_body(snap, [], "active")), cors=True)


@router.get("/status/{rest:path}", include_in_schema=False)
async def anything_else(request: Request, rest: str) -> Response:
    """Any other address under /status: the same clear 404 page (JSON for a `.json` address)."""
    return _not_found(request, "There is no such page on this status page.")
