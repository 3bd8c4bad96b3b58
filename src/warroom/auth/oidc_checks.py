"""`warroom config check` for the `oidc:` section: what the schema cannot see (the secret's variable is set)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from warroom.configcheck import ConfigProblem, line_of

if TYPE_CHECKING:
    import yaml

    from warroom.config import ConfigFile


def check_oidc(parsed: ConfigFile, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    """The client secret's environment variable is set (in the environment `config check` runs in)."""
    oidc = parsed.oidc
    if oidc is None or oidc.client_secret_env is None or os.environ.get(oidc.client_secret_env):
        return []
    return [
        ConfigProblem(
            path,
            line_of(root, ("oidc", "client_secret_env")),
            "oidc.client_secret_env",
            f"the environment variable {oidc.client_secret_env} is not set: single sign-on logins will be refused "
            "until `warroom serve` runs with it",
        )
    ]
