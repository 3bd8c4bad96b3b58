"""The public status page and its JSON over HTTP, as an anonymous visitor sees them: content, 404s, caching."""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import format_datetime

import pytest

from tests.statuspage.facedata import NOW, incident, sample_snapshot, update

HTML_ROUTES = [
    "/status",
    "/status/history",
    "/status/history?page=2",
    "/status/incidents/inc-checkout-slow",
    "/status/incidents/past-7",
]
FEED_ROUTES = ["/status/history.atom", "/status/history.rss"]
JSON_ROUTES = [
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
    "/status/badge/checkout.json",
]
PUBLIC_ROUTES = HTML_ROUTES + FEED_ROUTES + JSON_ROUTES


def text_of(html: str) -> str:
    """The page's visible text, roughly: tags dropped, whitespace squeezed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.backend("sqlite")
def test_page_shows_banner_components_by_group_incidents_and_maintenance(public):
    response = public.get("/status")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    text = text_of(html)
    assert '<h1 class="banner major">Partial System Outage</h1>' in html
    # Groups in their order, each with its members and their status in words.
    listed = text[text.index(" Components ") :]
    assert listed.index("Website") < listed.index("Payments") < listed.index("Checkout") < listed.index("Card payments")
    assert (
        listed.index("Card payments") < listed.index("Platform") < listed.index("Search") < listed.index("Public API")
    )
    assert "Checkout partial outage" in listed and "Search under maintenance" in listed
    # The active incident with its update timeline, newest first, in the page's time zone (Berlin, CET).
    assert text.index("We found the cause") < text.index("Some card payments time out") < text.index("slow checkouts")
    assert "2026-11-30 14:50 CET" in text  # 13:50 UTC
    assert "Maintenance in progress" in text and "Search cluster upgrade" in text
    assert "Upcoming maintenance" in text and "Database failover drill" in text
    # The 90-day bar: a bad day shows as its own segment with its uptime; a new component says so.
    assert 'title="2026-11-28: 96.20%, partial outage"' in html and "99.96% uptime over 90 days" in text
    assert "Public API" in text and "no data" in html and "100.00% uptime over the 30 days measured" in text
    # Feeds are discoverable, the one stylesheet is local, no script anywhere.
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert '<link rel="alternate" type="application/rss+xml"' in html
    assert '<link rel="stylesheet" href="/status/status.css">' in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")


@pytest.mark.backend("sqlite")
def test_text_people_typed_is_shown_as_text(public, change):
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    change(incidents=(incident("inc-x", hostile, (update("ux", "investigating", hostile, 5),)),))
    html = public.get("/status").text
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.backend("sqlite")
def test_history_is_paged_newest_first(public):
    first = text_of(public.get("/status/history").text)
    assert "Past incident number 0 " in first and "Past incident number 19 " in first
    assert "Past incident number 20 " not in first and "Page 1 of 3" in first
    second = public.get("/status/history?page=2").text
    assert "Past incident number 20 " in text_of(second) and 'rel="prev" href="/status/history?page=1"' in second
    assert 'rel="next" href="/status/history?page=3"' in second
    last = text_of(public.get("/status/history?page=3").text)
    assert "Past incident number 44 " in last and "Older" not in last


@pytest.mark.backend("sqlite")
def test_incident_page_shows_every_public_update(public):
    text = text_of(public.get("/status/incidents/inc-checkout-slow").text)
    assert "Checkout is slow" in text and "Affected: Checkout" in text
    assert "Identified We found the cause" in text and "Investigating We are investigating slow checkouts." in text
    past = text_of(public.get("/status/incidents/past-7").text)
    assert "Resolved Resolved: incident 7 is over." in past


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(
    "path",
    [
        "/status/incidents/no-such-incident",
        "/status/incidents/..%2F..%2Fetc%2Fpasswd",
        "/status/incidents/%3Cscript%3E",
        "/status/incidents/" + "a" * 5000,
        "/status/history?page=0",
        "/status/history?page=4",
        "/status/history?page=-1",
        "/status/history?page=abc",
        "/status/history?page=99999999999999999999",
        "/status/history?page=1e3",
    ],
)
def test_unknown_incident_or_page_is_a_clear_404_page(public, path):
    response = public.get(path)
    assert response.status_code == 404, response.text[:200]
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in response.text and 'href="/status"' in response.text
    assert "<script" not in response.text


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", ["/status/badge/nope.json", "/status/badge/%01%02.json", "/status/badge/..%2F.json"])
def test_unknown_badge_is_a_json_404(public, path):
    response = public.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404 and response.json()["title"] == "Not found"


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", [*JSON_ROUTES, "/status", "/status/history.atom"])
def test_hostile_query_strings_change_nothing(public, path):
    plain = public.get(path)
    for query in ("?a=" + "x" * 4000, "?limit=-1&page[]=1", "?%ff%fe=1", "?callback=alert(1)"):
        response = public.get(path + query)
        assert response.status_code == 200, (query, response.status_code)
        assert response.content == plain.content
    # A NUL anywhere in a request is refused before any route runs (warroom.inputs), as on every route.
    assert public.get(path + "?page=%00").status_code == 422


@pytest.mark.backend("sqlite")
def test_badge_is_a_shields_endpoint(public):
    assert public.get("/status/badge/checkout.json").json() == {
        "schemaVersion": 1,
        "label": "Checkout",
        "message": "partial outage",
        "color": "orange",
    }
    assert public.get("/status/badge/website.json").json()["color"] == "brightgreen"


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", PUBLIC_ROUTES)
def test_every_public_route_sends_validators_and_answers_304(public, path):
    first = public.get(path)
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["cache-control"] == "public, no-cache"
    assert modified == format_datetime(NOW, usegmt=True)
    again = public.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == "public, no-cache"
    assert public.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert public.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    earlier = format_datetime(NOW - timedelta(seconds=1), usegmt=True)
    assert public.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
    assert public.get(path, headers={"If-Modified-Since": "not a date"}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110): a stale tag gets the body even if the date matches.
    both = public.get(path, headers={"If-None-Match": '"old"', "If-Modified-Since": modified})
    assert both.status_code == 200


@pytest.mark.backend("sqlite")
def test_a_change_shows_at_once_and_changes_the_etag(public, change):
    before = public.get("/api/v2/status.json")
    assert before.json()["status"]["indicator"] == "major"
    change(indicator="none", description="All Systems Operational", incidents=())
    after = public.get("/api/v2/status.json", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.json()["status"] == {"indicator": "none", "description": "All Systems Operational"}
    assert after.headers["etag"] != before.headers["etag"]
    assert "All Systems Operational" in public.get("/status").text
    assert "Checkout is slow" not in public.get("/status").text


@pytest.mark.backend("sqlite")
def test_each_body_is_rendered_once_per_version(public, runtime, change):
    for _ in range(5):
        public.get("/status")
        public.get("/api/v2/summary.json")
    face = runtime.extras["statuspage_face"]
    assert face.renders == 2
    change(description="Minor Service Outage", indicator="minor")
    for _ in range(3):
        public.get("/status")
    assert face.renders == 3
    assert face.stats()[0] == 1  # the old version's bodies are gone


@pytest.mark.backend("sqlite")
def test_the_cache_holds_a_bounded_number_of_bodies(public, runtime):
    public.get("/status")
    face = runtime.extras["statuspage_face"]
    face.max_entries = 10
    for n in range(40):
        assert public.get(f"/status/incidents/past-{n}").status_code == 200
    entries, size = face.stats()
    assert entries == 10 and 0 < size < 10 * 20_000
    face.max_bytes = 1  # any body is now too big to keep: served, never stored
    assert public.get("/status/history?page=2").status_code == 200
    assert face.stats()[0] <= 10


@pytest.mark.backend("sqlite")
def test_the_version_is_trusted_for_the_recheck_interval(app, runtime, source, change):
    from starlette.testclient import TestClient

    from warroom.statuspage.face import face_for

    ticks = [100.0]
    runtime.extras["statuspage_recheck"] = 1.0
    face = face_for(runtime)
    face.monotonic = lambda: ticks[0]
    with TestClient(app) as client:
        client.get("/status")
        reads = source.version_reads
        change(description="Minor Service Outage", indicator="minor")
        assert "Partial System Outage" in client.get("/status").text  # within the second: the cached page
        assert source.version_reads == reads
        ticks[0] += 1.0
        assert "Minor Service Outage" in client.get("/status").text
        assert source.version_reads == reads + 2  # one read to see the change, one in the render's session


@pytest.mark.backend("sqlite")
def test_json_routes_allow_cross_origin_reads_and_take_no_token(public):
    for path in JSON_ROUTES:
        response = public.get(path, headers={"Origin": "http://127.0.0.1:9"})
        assert response.headers["access-control-allow-origin"] == "*", path
    for path in PUBLIC_ROUTES:
        # A bogus token does not matter: these routes read no credential at all.
        assert public.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 200, path


@pytest.mark.backend("sqlite")
def test_stylesheet_is_served_from_the_package_and_small(public):
    response = public.get("/status/status.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert len(response.content) < 8_000 and "@import" not in response.text and "url(" not in response.text
    assert public.get("/status/status.css", headers={"If-None-Match": response.headers["etag"]}).status_code == 304


@pytest.mark.backend("sqlite")
def test_an_empty_page_still_reads_well(public, change):
    change(
        components=(), groups=(), incidents=(), maintenances=(), indicator="none", description="All Systems Operational"
    )
    assert "All Systems Operational" in public.get("/status").text
    body = public.get("/api/v2/summary.json").json()
    assert body["components"] == [] and body["incidents"] == [] and body["scheduled_maintenances"] == []


@pytest.mark.backend("sqlite")
def test_snapshot_fixture_is_realistic():
    # Guard on the fixture itself: every component a group names exists, every incident's components exist.
    snap = sample_snapshot()
    ids = {c.id for c in snap.components}
    assert all(set(g.component_ids) <= ids for g in snap.groups)
    assert all(set(i.component_ids) <= ids for i in (*snap.incidents, *snap.maintenances))


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", ["/status", "/api/v2/summary.json"])
def test_gzip_for_clients_that_accept_it(public, path):
    import gzip

    plain = public.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    raw = public.get(path, headers={"Accept-Encoding": "gzip, deflate"}, extensions={})
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.content == plain.content  # httpx decodes it: the same bytes
    assert int(raw.headers["content-length"]) < len(plain.content) / 3
    refused = public.get(path, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize("path", ["/status", "/api/v2/summary.json", "/api/v2/scheduled-maintenances/active.json"])
def test_the_fast_path_answers_like_the_route(app, runtime, source, monkeypatch, path):
    from starlette.testclient import TestClient

    from warroom.statuspage import face as routes

    runtime.extras["statuspage_recheck"] = 3600  # the version read by the first request stays trusted
    with TestClient(app) as client:
        slow = client.get(path, headers={"Accept-Encoding": "identity"})
        slow_304 = client.get(path, headers={"If-None-Match": slow.headers["etag"]})

        async def no_route(*args, **kwargs):
            raise AssertionError("the FastAPI route ran: the fast path did not answer")

        monkeypatch.setattr(routes, "serve", no_route)
        fast = client.get(path, headers={"Accept-Encoding": "identity"})
        fast_304 = client.get(path, headers={"If-None-Match": slow.headers["etag"]})
        fast_ims = client.get(path, headers={"If-Modified-Since": slow.headers["last-modified"]})
    skip = {"date", "server"}
    assert fast.status_code == 200 and fast.content == slow.content
    assert {k: v for k, v in fast.headers.items() if k not in skip} == {
        k: v for k, v in slow.headers.items() if k not in skip
    }
    assert fast_304.status_code == slow_304.status_code == 304 and fast_ims.status_code == 304
    assert fast_304.headers["etag"] == slow_304.headers["etag"]


@pytest.mark.backend("sqlite")
def test_a_new_day_is_a_new_version(public, clock):
    # The uptime bars gain a day at midnight without any other change: the cached page must not outlive it.
    first = public.get("/status")
    clock.advance(hours=24)
    assert public.get("/status", headers={"If-None-Match": first.headers["etag"]}).status_code == 200


@pytest.mark.backend("sqlite")
def test_a_crowd_missing_at_once_renders_once(runtime, source):
    import threading

    from warroom.statuspage.face import face_for
    from warroom.statuspage.snapshot import PageSnapshot

    face = face_for(runtime)
    builds: list[int] = []
    gate = threading.Event()
    real = source.build_snapshot

    def slow_build(session, *, now) -> PageSnapshot:
        builds.append(1)
        gate.wait(5)  # the first build is still running while the others arrive
        return real(session, now=now)

    source.build_snapshot = slow_build  # type: ignore[method-assign]
    done: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda: done.append(face.render("html:x", lambda _s, snap, _n: (snap.name.encode(), "t")).body)
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert done == [b"Example Shop"] * 8
    assert len(builds) == 1 and face.renders == 1
