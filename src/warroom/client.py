"""The CLI's HTTP client: WARROOM_URL and WARROOM_TOKEN, problem details turned into one-line errors."""

from __future__ import annotations

import os
from typing import Any

import httpx

from warroom.cliutil import fail

DEFAULT_URL = "http://127.0.0.1:8080"


class ApiClient:
    """A thin client of the warroom API."""

    def __init__(self, base_url: str | None = None, token: str | None = None, *, timeout: float = 30.0) -> None:
        self.base_url = (base_url or os.environ.get("WARROOM_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("WARROOM_TOKEN")
        headers = {"User-Agent": "warroom-cli"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send a request; any error answer or transport failure becomes a one-line CliError."""
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self._http.request(method, path, json=json, params=clean_params)
        except httpx.TransportError as exc:
            fail(
                f"cannot reach warroom at {self.base_url}: {exc.__class__.__name__}: {exc}. "
                "Is `warroom serve` running and WARROOM_URL right?"
            )
        if response.status_code >= 400:
            fail(_describe(response, self.base_url))
        return response

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            fail(_not_warroom(response, self.base_url))

    def get(self, path: str, **params: Any) -> Any:
        """GET and decode JSON."""
        return self._json(self.request("GET", path, params=params))

    def post(self, path: str, body: Any = None) -> Any:
        """POST JSON and decode JSON."""
        return self._json(self.request("POST", path, json=body if body is not None else {}))

    def patch(self, path: str, body: Any) -> Any:
        """PATCH JSON and decode JSON."""
        return self._json(self.request("PATCH", path, json=body))

    def delete(self, path: str) -> Any:
        """DELETE and decode JSON."""
        return self._json(self.request("DELETE", path))


def _not_warroom(response: httpx.Response, base_url: str) -> str:
    """Another web server (a proxy's error page, a different app) answered: say so instead of printing its HTML."""
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    return (
        f"{base_url} is not a warroom server (WARROOM_URL): it answered HTTP {response.status_code} with {kind} "
        "where warroom answers JSON. Point WARROOM_URL at warroom's address."
    )


def _describe(response: httpx.Response, base_url: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return _not_warroom(response, base_url)
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if response.status_code == 401 and not os.environ.get("WARROOM_TOKEN"):
            return f"{detail} Set WARROOM_TOKEN (see `warroom token create`)."
        return " ".join(str(detail).split())
    return _not_warroom(response, base_url)
