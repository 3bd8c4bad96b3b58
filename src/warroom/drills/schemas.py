"""What goes in and out of the drills API (the scenario itself is scenario.ScenarioIn)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warroom.drills.scenario import _duration


class DrillRead(BaseModel):
    """A drill and its report (as of now while it runs)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str = Field(description="scenario or contacts")
    name: str
    state: str = Field(description="running, finished or timed_out")
    started_by: str
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None
    incident: int | None = Field(description="The drill's incident (flagged drill), once there is one.")
    report: dict[str, Any]


class ContactDrillIn(BaseModel):
    """Page every on-call person (of a team, or of every schedule) through each of their contact methods."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    team: str | None = Field(default=None, min_length=1, max_length=100)
    deadline: str = Field(default="15m", description="Methods not acknowledged by then are reported unreachable.")

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline(cls, value: Any) -> Any:
        from datetime import timedelta

        return _duration(value, at_most=timedelta(hours=24))
