"""Signals other apps listen to, so the case app need not know who reacts to its events."""

from django.dispatch import Signal

# Sent by every case service inside its transaction, right after the event is appended, with
# `event` (a CaseEvent). Receivers write rows in the same transaction (the notification outbox),
# so a change and what it triggers commit or roll back together. Receivers must not do I/O.
case_event_recorded = Signal()
