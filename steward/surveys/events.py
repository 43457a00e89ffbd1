"""The case events the surveys app records (CaseEvent.kind values)."""

from __future__ import annotations

SURVEY_SENT = "survey_sent"
SURVEY_ANSWERED = "survey_answered"
SURVEY_FOLLOW_UP = "survey_follow_up"
SURVEY_FOLLOW_UP_DONE = "survey_follow_up_done"
