"""The surveys app's hook into the case event log (connected in SurveysConfig.ready).

The case app does not know about surveys: it announces its events, and a confirmed solution or an
unconfirmed closure schedules the case survey here, after the case change commits.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from steward.cases.models import CaseEvent, EventKind

logger = logging.getLogger(__name__)

SURVEY_TRIGGERS = (EventKind.SOLUTION_CONFIRMED, EventKind.CLOSED_UNCONFIRMED)


def _queue(case_id: int) -> None:
    from .tasks import send_case_survey

    try:
        send_case_survey.delay(case_id)
    except Exception:
        # Never break the request that closed the case: the periodic sweep sends the survey later.
        logger.warning("Case survey for case %s not queued (the sweep sends it)", case_id, exc_info=True)


def schedule_case_survey(sender: Any, *, event: CaseEvent, **kwargs: Any) -> None:
    """No I/O and no writes here: only queue `survey_send` for after the commit."""
    if event.kind not in SURVEY_TRIGGERS:
        return
    from .services import is_muted

    if is_muted():
        return
    case_id = event.case_id
    transaction.on_commit(lambda: _queue(case_id))
