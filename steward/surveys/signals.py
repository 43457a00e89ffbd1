"""Signals other apps listen to, so the surveys app need not know who reacts to its answers."""

from django.dispatch import Signal

# Sent by `survey_answer` inside its transaction, right after the answer is stored, with `response`
# (a SurveyResponse, case or relationship answer). Receivers write rows in the same transaction (the
# dashboard's day counts), so an answer and what it counts commit or roll back together; no I/O.
response_recorded = Signal()
