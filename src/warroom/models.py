"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests)."""

from warroom.alerts import models as alert_models
from warroom.auth import models as auth_models
from warroom.db import Base
from warroom.drills import models as drill_models
from warroom.engine import models as engine_models
from warroom.incidents import models as incident_models
from warroom.monitors import models as monitor_models
from warroom.notify import models as notify_models
from warroom.oncall import models as oncall_models
from warroom.postmortems import models as postmortem_models
from warroom.reports import models as report_models
from warroom.runbooks import models as runbook_models
from warroom.statuspage import models as statuspage_models
from warroom.statuspage import subscriber_models as status_subscriber_models

__all__ = [
    "Base",
    "alert_models",
    "auth_models",
    "drill_models",
    "engine_models",
    "incident_models",
    "monitor_models",
    "notify_models",
    "oncall_models",
    "postmortem_models",
    "report_models",
    "runbook_models",
    "status_subscriber_models",
    "statuspage_models",
]
