"""The case events the surveys app records (CaseEvent.kind values, labelled in cases.EventKind)."""

from __future__ import annotations

from steward.cases.models import EventKind

SURVEY_SENT = EventKind.SURVEY_SENT
SURVEY_ANSWERED = EventKind.SURVEY_ANSWERED
SURVEY_FOLLOW_UP = EventKind.SURVEY_FOLLOW_UP
SURVEY_FOLLOW_UP_DONE = EventKind.SURVEY_FOLLOW_UP_DONE
