"""How long a 500 takes to log: the app as `warroom serve` builds it, logging configured as `serve` does (to a
file), and a route that fails 300 frames deep holding a 300-level nested payload and the caller's bearer token,
the shape of the issue's worst case. Prints per-request times of the 500 beside a 404's, per log format.

    .venv/bin/python bench/errorlog.py [--requests 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import Request
from starlette.testclient import TestClient

from warroom.app import create_app
from warroom.config import Settings
from warroom.server import configure_logging, ensure_admin_token, prepare

TARGET_MS = 50.0


def _nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"x": value}
    return value


def _fail(depth: int, payload: Any, authorization: str) -> None:
    if depth:
        _fail(depth - 1, payload, authorization)
        return
    raise RuntimeError("cannot store the alert")


async def broken(request: Request) -> None:
    """A route that fails the way the issue's requests did: deep, with big locals and a secret in scope."""
    _fail(300, _nested(300), request.headers.get("authorization", ""))


def _times(client: TestClient, path: str, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        client.get(path)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _line(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"  {label:<22} median {statistics.median(times):7.2f} ms   p99 {p99:7.2f} ms   max {max(times):7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    sys.setrecursionlimit(5000)
    worst = 0.0
    for fmt in ("console", "json"):
        with tempfile.TemporaryDirectory() as folder:
            log_path = Path(folder) / "server.log"
            real_stderr = sys.stderr
            sys.stderr = log_path.open("w")  # configure_logging writes where stderr points, as under `serve`
            try:
                settings = Settings(data_dir=Path(folder) / "data", log_format=fmt, log_level="info")
                configure_logging(settings)
                runtime = prepare(settings)
                token_path = ensure_admin_token(runtime)
                token = token_path.read_text().strip() if token_path else ""
                app = create_app(runtime)
                app.add_api_route("/api/v1/broken", broken)
                with TestClient(app, raise_server_exceptions=False) as client:
                    client.headers["Authorization"] = f"Bearer {token}"
                    client.get("/api/v1/broken")  # warm-up
                    errors = _times(client, "/api/v1/broken", args.requests)
                    missing = _times(client, "/api/v1/incidents/424242", args.requests)
                runtime.db.dispose()
            finally:
                sys.stderr.close()
                sys.stderr = real_stderr
            time.sleep(0.5)  # the writer thread finishes the file
            size = log_path.stat().st_size
            print(f"{fmt}:")
            print(_line("500 (logged)", errors))
            print(_line("404 (not logged)", missing))
            leaked = token in log_path.read_text()
            print(f"  log bytes per 500      {size / (args.requests + 1):,.0f}   token in log: {leaked}")
            worst = max(worst, statistics.median(errors) - statistics.median(missing))
    verdict = "met" if worst < TARGET_MS else "MISSED"
    print(
        f"logging cost of a 500 (median 500 minus median 404, worst format): {worst:.2f} ms;"
        f" target {TARGET_MS:.0f} ms {verdict}"
    )


if __name__ == "__main__":
    main()
