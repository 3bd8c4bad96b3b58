"""HEAD on the public status page: uptime and link checkers get the GET's status and headers, no body."""

from __future__ import annotations

import pytest

from tests.statuspage.test_public import PUBLIC_ROUTES

SKIP = {"date", "server"}


def _headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in SKIP}


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", [*PUBLIC_ROUTES, "/status/status.css", "/status/subscribe"])
def test_head_answers_like_get_without_a_body(public, path):
    got = public.get(path, headers={"Accept-Encoding": "identity"})
    head = public.head(path, headers={"Accept-Encoding": "identity"})
    assert got.status_code == 200, path
    assert head.status_code == 200 and head.content == b""
    assert _headers(head) == _headers(got)
    assert int(head.headers["content-length"]) == len(got.content)


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", [p for p in PUBLIC_ROUTES if "?" not in p])
def test_head_revalidates_with_304(public, path):
    etag = public.head(path).headers["etag"]
    again = public.head(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert public.head(path, headers={"If-None-Match": '"old"'}).status_code == 200


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", ["/status/incidents/no-such-thing", "/status/nowhere", "/status/badge/nope.json"])
def test_head_of_an_unknown_address_is_404(public, path):
    head = public.head(path)
    assert head.status_code == 404 and head.content == b""


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", ["/status", "/api/v2/summary.json", "/api/v2/status.json"])
def test_the_fast_path_answers_head(app, runtime, source, monkeypatch, path):
    from starlette.testclient import TestClient

    from warroom.statuspage import face as routes

    runtime.extras["statuspage_recheck"] = 3600
    with TestClient(app) as client:
        slow = client.get(path, headers={"Accept-Encoding": "gzip"})

        async def no_route(*args, **kwargs):
            raise AssertionError("the FastAPI route ran: the fast path did not answer")

        monkeypatch.setattr(routes, "serve", no_route)
        head = client.head(path, headers={"Accept-Encoding": "gzip"})
        head_304 = client.head(path, headers={"If-None-Match": slow.headers["etag"]})
    assert head.status_code == 200 and head.content == b""
    assert _headers(head) == _headers(slow)
    assert head_304.status_code == 304 and head_304.content == b""


@pytest.mark.backend("sqlite")
def test_head_elsewhere_is_unchanged(public):
    # Only the public status page gains HEAD: an API route still refuses it.
    assert public.head("/api/v1/status/components").status_code == 405


@pytest.mark.parametrize("more", [False, True])
async def test_head_sends_no_body_bytes_at_the_asgi_level(more):
    # httpx and uvicorn drop a HEAD's body themselves; warroom must not rely on either.
    from warroom.statuspage.fastpath import StatusFastPath

    seen: list[str] = []

    async def inner(scope, receive, send):
        seen.append(scope["method"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        if more:
            await send({"type": "http.response.body", "body": b"he", "more_body": True})
        await send({"type": "http.response.body", "body": b"llo" if more else b"hello"})

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "HEAD", "path": "/status/nowhere", "headers": []}
    await StatusFastPath(inner)(scope, None, send)
    assert seen == ["GET"]
    assert sent[0]["status"] == 200 and sent[0]["headers"] == [(b"content-length", b"5")]
    assert [m["body"] for m in sent[1:]] == [b""] and not sent[-1].get("more_body", False)
