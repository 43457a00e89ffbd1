"""`{% form_fields form %}`: what `{% include "includes/form.html" %}` renders, without the engine."""

from __future__ import annotations

from django import forms, template
from django.utils.safestring import SafeString

from steward.core.form_html import form_html

register = template.Library()


@register.simple_tag
def form_fields(form: forms.BaseForm) -> SafeString:
    return form_html(form)
