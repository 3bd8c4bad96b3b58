"""`prometheus`: evaluate PromQL through a Prometheus HTTP API (/api/v1/query) and compare with fail_if."""

from __future__ import annotations

from typing import Any

from warroom.monitors.checks import Check, CheckContext, Outcome, down, up


def _series_name(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{labels}}}" if labels else name or "{}"


class PrometheusCheck(Check):
    """Down when any returned sample passes the threshold; the message names the series."""

    async def run(self, ctx: CheckContext) -> Outcome:
        """One instant query."""
        cfg = self.cfg
        base = (cfg.url or "").rstrip("/")
        async with ctx.http().get(f"{base}/api/v1/query", params={"query": cfg.query or ""}) as response:
            try:
                payload: Any = await response.json(content_type=None)
            except ValueError:
                return down(f"Prometheus answered {response.status} with a body that is not JSON")
        if not isinstance(payload, dict) or payload.get("status") != "success":
            error = payload.get("error") if isinstance(payload, dict) else None
            return down(f"query failed: {error or f'HTTP {response.status}'}")
        data = payload.get("data") or {}
        kind, result = data.get("resultType"), data.get("result")
        samples: list[tuple[str, float]] = []
        if kind == "scalar" and isinstance(result, list):
            samples = [("scalar", float(result[1]))]
        elif kind == "vector" and isinstance(result, list):
            samples = [(_series_name(item.get("metric", {})), float(item["value"][1])) for item in result]
        else:
            return down(f"query returned a {kind}; use an expression giving an instant vector or scalar")
        threshold = cfg.threshold
        if not samples:
            empty = "no data"
            return up(empty) if cfg.on_empty == "up" else down(empty)
        failing = [(name, value) for name, value in samples if threshold is not None and threshold.failed(value)]
        details = {"series": len(samples)}
        if failing:
            shown = "; ".join(f"{name} = {value:g}" for name, value in failing[:5])
            more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
            return Outcome("down", f"{shown}{more} ({threshold})", details=details)
        worst = max(value for _, value in samples)
        return up(f"{len(samples)} series, highest {worst:g}", **details)
