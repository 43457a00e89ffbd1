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


# Words that only point elsewhere ("please see the notes above"). A text made of nothing else, in any
# of the four languages, is a pointer, not a summary. Thai has no spaces, so its words are removed as
# substrings; the others as whole words.
_POINTERS = {
    "en": "see check look read refer to at in on of for from the a an please pls plz above below earlier "
    "before previous history notes note ticket thread case emails email e-mail mails mail messages message "
    "log comments comment as discussed per thanks thank you same attached info details all there is it and "
    "or nothing none n/a na tbd todo handoff hand off over idem ok fyi etc",
    "es": "ver véase vea revisar revisa revise mira mirar el la los las de del en arriba abajo historial "
    "historia notas nota hilo caso correos correo mensajes mensaje anteriores anterior como se habló hablado "
    "comentado por favor gracias lo mismo nada igual y o todo está ahí adjunto",
    "ru": "см смотри смотрите посмотри посмотрите читай читайте выше ниже историю история истории заметки "
    "заметках в во на по тикет тикете переписку переписке письма письмах обращение обращении как обсуждали "
    "обсуждалось пожалуйста спасибо то же самое нет ничего всё все там и или",
    "th": "ดูประวัติ ประวัติ ด้านบน ข้างบน ด้านล่าง ข้างล่าง ตามที่ คุยกัน คุย ไว้ แล้ว ครับ ค่ะ คะ นะ กรุณา โปรด "
    "บันทึก ก่อนหน้า อีเมล ข้อความ ไม่มี เหมือนเดิม ขอบคุณ เคส หมายเหตุ ใน ที่ ตาม ดู",
}
POINTER_WORDS = frozenset(w for lang, words in _POINTERS.items() if lang != "th" for w in words.split())
THAI_POINTER_WORDS = sorted(_POINTERS["th"].split(), key=len, reverse=True)  # longest first
MIN_OWN_LETTERS = 5


def _is_pointer(norm: str) -> bool:
    """True when the text has pointer words and, without them, fewer than a handful of letters remain."""
    stripped = norm
    for word in THAI_POINTER_WORDS:
        stripped = stripped.replace(word, " ")
    words = re.findall(r"[^\W_]+(?:[-/][^\W_]+)*", stripped)
    rest = [w for w in words if w not in POINTER_WORDS]
    if stripped == norm and len(rest) == len(words):
        return False  # nothing points elsewhere: judged by length below
    return sum(1 for w in rest for ch in w if ch.isalnum()) < MIN_OWN_LETTERS


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip()).lower()


def summary_problem(text: str) -> str | None:
    """Return why `text` is not a real summary, or None when it is one."""
    norm = _normalise(text)
    if not norm:
        return _("Write this part of the summary.")
    if norm.strip(" .!") in LAZY_PHRASES or _is_pointer(norm):
        return _("Summarise in your own words; a pointer to the history is not a summary.")
    letters = [ch for ch in norm if ch.isalpha()]
    if len(norm) < MIN_CHARS or len(letters) < MIN_CHARS // 2:
        return _(
            "Too short: at least %(n)d characters, so the next adviser need not ask the customer again."
        ) % {"n": MIN_CHARS}
    if len(set(letters)) < 5:
        return _("This does not read as a summary.")
    return None
