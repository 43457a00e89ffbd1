"""Split a mail reply into what the sender wrote now and the earlier mail their client quoted.

Mail clients quote the whole thread under every reply. Stored as it came (nothing is thrown away),
the case history would repeat each earlier message once per reply; pages show the fresh part and
fold the quoted part away. Pure text in, text out: no guess ever removes the sender's own words,
so when in doubt the whole text counts as fresh.
"""

from __future__ import annotations

import re

# "On Mon, 2 Mar 2026 at 09:00, Steward <support@…> wrote:" and its Spanish, Russian and Thai forms;
# Outlook's separator and header block.
_ATTRIBUTION = re.compile(
    r"""^\s*(
        (on|el|le|am)\b.{0,200}\b(wrote|escribió|a\sécrit|schrieb)\s*:\s*$
      | .{0,200}(написал|написала|написал\(а\)|пишет)\s*:\s*$
      | .{0,200}(เขียนว่า|ได้เขียน\S*)\s*:?\s*$
      | -{2,}\s*(original\smessage|mensaje\soriginal|исходное\sсообщение|ข้อความต้นฉบับ)\s*-{2,}\s*$
      | (from|de|от|จาก)\s*:\s.+$
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def split_reply(text: str) -> tuple[str, str]:
    """(fresh, quoted). `quoted` is empty when no quoted tail is found, or when nothing would stay fresh."""
    lines = (text or "").splitlines()
    cut = None
    for i, line in enumerate(lines):
        rest = [ln for ln in lines[i + 1 :] if ln.strip()]
        if _ATTRIBUTION.match(line) and (not rest or _is_quoted(rest[0]) or line.lstrip().startswith("-")):
            cut = i
            break
        if _is_quoted(line) and all(_is_quoted(ln) for ln in rest):
            cut = i
            break
    if cut is None:
        return text, ""
    fresh = "\n".join(lines[:cut]).strip()
    if not fresh:
        return text, ""
    return fresh, "\n".join(lines[cut:]).strip()
