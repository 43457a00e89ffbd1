"""What counts as a real handoff summary: enough to spare the customer a second explanation."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

MIN_CHARS = 20
# Phrases that say "read it yourself" instead of summarising, in the four languages.
LAZY_PHRASES = {
    "see above",
    "see history",
    "see below",
    "see notes",
    "see ticket",
    "as discussed",
    "as above",
    "n/a",
    "na",
    "none",
    "nothing",
    "tbd",
    "todo",
    "handoff",
    "hand off",
    "same",
    "idem",
    "-",
    ".",
    "ver arriba",
    "ver historial",
    "ver notas",
    "como se habló",
    "nada",
    "см. выше",
    "см. историю",
    "см выше",
    "смотри историю",
    "нет",
    "ничего",
    "ดูด้านบน",
    "ดูประวัติ",
    "ไม่มี",
}


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip()).lower()


def summary_problem(text: str) -> str | None:
    """Return why `text` is not a real summary, or None when it is one."""
    norm = _normalise(text)
    if not norm:
        return _("Write this part of the summary.")
    if norm.strip(" .!") in LAZY_PHRASES:
        return _("Summarise in your own words; a pointer to the history is not a summary.")
    letters = [ch for ch in norm if ch.isalpha()]
    if len(norm) < MIN_CHARS or len(letters) < MIN_CHARS // 2:
        return _(
            "Too short: at least %(n)d characters, so the next adviser need not ask the customer again."
        ) % {"n": MIN_CHARS}
    if len(set(letters)) < 5:
        return _("This does not read as a summary.")
    return None
