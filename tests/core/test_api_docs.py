"""`/docs` works without internet: the page and every asset it loads come from warroom itself (issue 15)."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import pytest
from starlette.testclient import TestClient

# Every attribute through which a browser would fetch something for the page.
ASSET_ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@pytest.mark.backend("sqlite")  # the docs page does not touch the database
def test_docs_page_loads_only_assets_the_app_serves(client_for: Callable[..., TestClient]) -> None:
    anonymous = client_for(None)
    page = anonymous.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # No CDN and no other host, not even in a script's string: offline, any of them leaves the page blank.
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    assets = ASSET_ATTR.findall(page.text)
    scripts = [a for a in assets if a.endswith(".js")]
    styles = [a for a in assets if a.endswith(".css")]
    assert scripts and styles, f"the page loads no script or no stylesheet: {assets}"
    for asset in assets:
        url = urljoin("http://testserver/docs", asset)
        assert urlsplit(url).netloc == "testserver", f"{asset} is not on this server"
        answer = anonymous.get(url)
        assert answer.status_code == 200, f"{asset}: {answer.status_code}"
        assert answer.content, f"{asset} is empty"
        kind = answer.headers["content-type"]
        if asset in scripts:
            assert "javascript" in kind, f"{asset}: {kind}"
            assert b"SwaggerUIBundle" in answer.content
        elif asset in styles:
            assert kind.startswith("text/css"), f"{asset}: {kind}"
        else:
            assert kind.startswith("image/"), f"{asset}: {kind}"


@pytest.mark.backend("sqlite")
def test_docs_page_points_swagger_ui_at_this_apps_schema(client_for: Callable[..., TestClient]) -> None:
    anonymous = client_for(None)
    page = anonymous.get("/docs").text
    assert "url: '/openapi.json'" in page
    assert anonymous.get("/openapi.json").status_code == 200
    redirect = anonymous.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "http" not in redirect.text.replace("window.location", "")


@pytest.mark.backend("sqlite")
def test_docs_assets_are_a_fixed_set_outside_the_schema(client_for: Callable[..., TestClient]) -> None:
    anonymous = client_for(None)
    paths = anonymous.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/docs")]
    # Only the named files: nothing else of the package (or the disk) is reachable through the asset route.
    for name in ("app.py", "..%2F..%2Fapp.py", "swagger-ui.css.map", "LICENSE", "nope.js"):
        answer = anonymous.get(f"/docs/assets/{name}")
        assert answer.status_code == 404, f"{name}: {answer.status_code}"
        assert answer.headers["content-type"].startswith("application/problem+json")
    # ReDoc would load its script and fonts from a CDN: it is off rather than blank offline.
    assert anonymous.get("/redoc").status_code == 404


def test_docs_page_never_asks_the_online_validator(client_for: Callable[..., TestClient]) -> None:
    # Swagger UI's default validatorUrl makes the reader's browser send this server's schema URL to
    # validator.swagger.io whenever warroom is not on localhost: a call outside, and one that fails offline.
    page = client_for(None).get("/docs").text
    assert '"validatorUrl": null' in page
