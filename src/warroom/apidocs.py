"""Serves the interactive API docs (Swagger UI) at `/docs` from files shipped in the package, so they work offline."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from warroom.problems import problem

# swagger-ui-dist 5.35.0 from the npm registry (Apache-2.0, LICENSE and NOTICE alongside). FastAPI's default page
# loads the same files from a CDN, which leaves /docs blank without internet (issue 15).
ASSET_DIR = Path(__file__).parent / "web" / "static" / "swagger-ui"
# The only files the route serves: a name from the URL never becomes a path on disk.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def install_api_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Add `/docs`, its OAuth2 redirect page and its assets to `app`, all outside the OpenAPI schema."""

    @app.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        # Behind a proxy that mounts warroom under a prefix, every URL the page uses carries that prefix.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - API docs",
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs/assets/favicon-32x32.png",
            oauth2_redirect_url=root + OAUTH2_REDIRECT,
            # No validator badge: it would send the schema's URL to validator.swagger.io from the reader's browser.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.api_route(OAUTH2_REDIRECT, methods=["GET", "HEAD"], include_in_schema=False)
    def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.api_route("/docs/assets/{name}", methods=["GET", "HEAD"], include_in_schema=False)
    def swagger_ui_asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            return problem(404, "Not found", "No such file of the API docs.")
        # The files change only with a warroom release; a day's caching spares reloading ~2 MB per visit.
        return FileResponse(ASSET_DIR / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
