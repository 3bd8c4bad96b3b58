"""Copy-paste configuration for alert senders (Alertmanager, Grafana, PagerDuty-style), built on warroom's real URL."""

from __future__ import annotations

from dataclasses import dataclass

# Shown where the key goes when the page does not have it (keys are stored hashed: only creation and rotation
# know them).
NO_KEY = "<the key: shown once when the integration is created or its key rotated>"


@dataclass(frozen=True)
class SenderConfig:
    """One sender's configuration: what it is for, and the text to paste."""

    title: str
    text: str


def _alertmanager(base: str, key: str | None) -> SenderConfig:
    auth = f"credentials: {key}" if key else "credentials_file: /etc/alertmanager/warroom-key  # holds the key"
    return SenderConfig(
        "Alertmanager (alertmanager.yml)",
        "receivers:\n"
        "  - name: warroom\n"
        "    webhook_configs:\n"
        f"      - url: {base}/api/v1/intake\n"
        "        send_resolved: true\n"
        "        http_config:\n"
        "          authorization:\n"
        "            type: Bearer\n"
        f"            {auth}\n",
    )


def _grafana(base: str, key: str | None) -> SenderConfig:
    return SenderConfig(
        "Grafana contact point (provisioning YAML; or in the UI: Webhook, this URL, POST, "
        "Authorization header scheme Bearer with the key)",
        "apiVersion: 1\n"
        "contactPoints:\n"
        "  - orgId: 1\n"
        "    name: warroom\n"
        "    receivers:\n"
        "      - uid: warroom\n"
        "        type: webhook\n"
        "        settings:\n"
        f"          url: {base}/api/v1/intake\n"
        "          httpMethod: POST\n"
        "          authorization_scheme: Bearer\n"
        f"          authorization_credentials: {key or NO_KEY}\n",
    )


def _pagerduty(base: str, key: str | None) -> list[SenderConfig]:
    routing = key or NO_KEY
    return [
        SenderConfig(
            "PagerDuty Events API v2 senders: point them at this URL, the key is the routing key",
            f"URL:         {base}/v2/enqueue\nrouting_key: {routing}\n",
        ),
        SenderConfig(
            "Alertmanager's pagerduty_configs",
            "receivers:\n"
            "  - name: warroom-pagerduty\n"
            "    pagerduty_configs:\n"
            f"      - url: {base}/v2/enqueue\n"
            f"        routing_key: {routing}\n",
        ),
    ]


def _generic(base: str, key: str | None) -> SenderConfig:
    return SenderConfig(
        "Any sender of JSON (curl)",
        f"curl -X POST {base}/api/v1/intake \\\n"
        f"  -H 'Authorization: Bearer {key or NO_KEY}' \\\n"
        "  -H 'Content-Type: application/json' -d @alert.json\n",
    )


def sender_configs(base: str, kind: str, key: str | None) -> list[SenderConfig]:
    """What to paste into the sender of an integration of type `kind` (none for warroom's own monitors)."""
    if kind == "alertmanager":
        return [_alertmanager(base, key)]
    if kind == "grafana":
        return [_grafana(base, key)]
    if kind == "pagerduty":
        return _pagerduty(base, key)
    if kind == "generic":
        return [_generic(base, key)]
    return []
