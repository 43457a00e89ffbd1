"""Signals other apps listen to, so the case app need not know who reacts to its events."""

from django.dispatch import Signal

# Sent by every case service inside its transaction, right after the event is appended, with
# `event` (a CaseEvent). Receivers write rows in the same transaction (the notification outbox),
# so a change and what it triggers commit or roll back together. Receivers must not do I/O.
case_event_recorded = Signal()

# Sent by case_open on PostgreSQL before it writes an opened case in one statement (cases/opening.py),
# with `case` and `event` (the "opened" CaseEvent, both not yet saved). A receiver may answer with
# rows of its own to write in that statement: (ctes, params), `ctes` a list of `name AS (...)`
# data-modifying CTEs that may read the new case row from the CTE `c` (every column), `params` the
# values of their %s in order. It then learns, through `opening=True` on case_event_recorded, that the
# case is new, and must know by itself (the event it was given) that its rows are written.
case_opening_rows = Signal()
