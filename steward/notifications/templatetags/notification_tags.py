"""Template tags for pages owned by other apps (the case page shows mail that could not be sent)."""

from __future__ import annotations

from django import template

from steward.cases.models import Case

from .. import selectors
from ..models import OutboundMail

register = template.Library()


@register.simple_tag
def failed_mail_for_case(case: Case) -> list[OutboundMail]:
    return selectors.failed_mail_list(case.pk)
