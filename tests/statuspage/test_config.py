"""The `status_page:` section: templates checked when the file is loaded, each problem naming its field."""

from __future__ import annotations

import pytest

from warroom.config import ConfigError, parse_config_text
from warroom.statuspage import templates


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config_text(text)
    return [str(p) for p in caught.value.problems]


def test_a_template_error_names_the_field_and_line():
    problems = _problems(
        """
status_page:
  templates:
    identified:
      public: "We found {{ titel }}"
    monitoring:
      internal: "{% for x in %}"
"""
    )
    assert any(
        p.startswith("warroom.yaml:5: status_page.templates.identified.public") and "titel" in p for p in problems
    )
    assert any("status_page.templates.monitoring.internal" in p and "template error" in p for p in problems)


def test_a_template_cannot_reach_python():
    problems = _problems(
        """
status_page:
  templates:
    resolved:
      public: "{{ title.__class__.__mro__[1].__subclasses__() }}"
"""
    )
    assert any("status_page.templates.resolved.public" in p for p in problems)


def test_unknown_status_group_and_time_zone_are_refused():
    problems = _problems(
        """
status_page:
  time_zone: Mars/Olympus
  groups: [{name: Shop}]
  components:
    - {name: Checkout, group: Shopp}
    - {name: Checkout}
  templates:
    exploded: {public: "x"}
"""
    )
    text = "\n".join(problems)
    assert "status_page.time_zone" in text and "Mars/Olympus" in text
    assert "status_page.templates" in text and "exploded" in text


def test_groups_and_duplicates_are_cross_checked():
    problems = _problems(
        """
status_page:
  groups: [{name: Shop}]
  components:
    - {name: Checkout, group: Shopp}
    - {name: Checkout}
"""
    )
    assert any("status_page.components.0.group" in p and "unknown group 'Shopp'" in p for p in problems)
    assert any("status_page.components.1.name" in p and "duplicate component" in p for p in problems)


def test_configured_templates_replace_the_seeds_defaults():
    parsed = parse_config_text(
        """
status_page:
  name: Acme
  time_zone: Europe/Paris
  templates:
    identified:
      public: "Cause of {{ title }} found; next update {{ next_update }}."
"""
    )
    settings = parsed.status_page
    assert settings.public_template("identified").startswith("Cause of")
    assert settings.public_template("resolved") == templates.DEFAULT_PUBLIC["resolved"]
    assert "INCIDENT UPDATE - {{ timestamp }}" in settings.internal_template("identified")


def test_config_check_warns_of_a_component_naming_an_undeclared_service():
    from warroom.config import check_config_text
    from warroom.configcheck import review

    text = """
services:
  - name: checkout
status_page:
  components:
    - {name: Checkout, services: [checkout, chekout]}
"""
    parsed, root, problems = check_config_text(text)
    assert problems == [] and parsed is not None
    (warning,) = [p for p in review(parsed, root, "warroom.yaml") if p.location.startswith("status_page")]
    assert warning.level == "warning" and warning.location == "status_page.components.0.services.1"
    assert "'chekout' is not declared" in warning.message
