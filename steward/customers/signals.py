"""Signals other apps listen to, so the customers app need not know who derives figures from its data."""

from django.dispatch import Signal

# Sent by `personal_data_erase` inside its transaction, right BEFORE the customer's texts are
# overwritten, with `case_ids` (the customer's cases) and `erased` (the text that replaces them).
# Receivers adjust what they derived from the old texts (the dashboard counts handoff summaries too
# short to help: an erased one is), in the same transaction; no I/O.
personal_data_erasing = Signal()
