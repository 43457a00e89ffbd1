"""Case events the costs app appends through cases.services._record.

The kinds are members of cases.models.EventKind (same values and labels); `event_label` reads these
labels first so the timeline names them even where an event is read without its model. Event data
never carries an amount: advisers read the timeline and the API, and money is for managers and
executives.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

COMPENSATION_REQUESTED = "compensation_requested"
COMPENSATION_APPROVED = "compensation_approved"
COMPENSATION_REJECTED = "compensation_rejected"

LABELS: dict[str, Promise] = {
    COMPENSATION_REQUESTED: _("Compensation requested"),
    COMPENSATION_APPROVED: _("Compensation approved"),
    COMPENSATION_REJECTED: _("Compensation rejected"),
}
