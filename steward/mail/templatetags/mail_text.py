from __future__ import annotations

from django import template

from steward.mail.quoting import split_reply

register = template.Library()


@register.filter
def reply_parts(text: str) -> tuple[str, str]:
    """(fresh, quoted) parts of a message body, for pages that fold the quoted earlier mail away."""
    return split_reply(text)
