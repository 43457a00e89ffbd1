"""A form's fields as templates/includes/form.html renders them, written in Python (issue 9).

The include renders includes/field.html once per field through the template engine: about 0.3 ms a
field, 4 to 26 fields on a case page. This writes the same markup (the template stays the reference:
steward/core/tests/test_form_html.py renders both), with the engine's escaping: every label, help
text and error goes through conditional_escape; widgets render themselves (steward/core/widgets.py).
Templates use it as `{% form_fields form %}` (templatetags/form_html.py).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe


def _text(value: Any) -> str:
    """What `{{ value }}` writes for a string-like value (render_value_in_context)."""
    return conditional_escape(value if isinstance(value, str) else str(value))


def errors_html(form: forms.BaseForm) -> str:
    """includes/form_errors.html (with its final newline)."""
    errors = form.non_field_errors()
    if not errors:
        return "\n"
    return '<div class="error" role="alert">' + "".join(f"<p>{_text(e)}</p>" for e in errors) + "</div>\n"


def field_html(field: forms.BoundField) -> str:
    """includes/field.html (with its final newline)."""
    widget = field.field.widget
    checkbox = getattr(widget, "input_type", None) == "checkbox" and not getattr(
        widget, "allow_multiple_selected", False
    )
    errors = field.errors
    label = f'<label for="{_text(field.id_for_label)}">{_text(field.label)}</label>'
    parts = ['<div class="field', " has-error" if errors else "", " check" if checkbox else "", '">\n  ']
    if checkbox:
        parts += [_text(field), " ", label, "\n  "]
    else:
        parts += [label, _text(field)]
    parts.append("\n  ")
    if field.help_text:
        parts.append(f'<small class="hint">{_text(field.help_text)}</small>')
    parts.append("\n  ")
    parts += [f'<p class="field-error" role="alert">{_text(e)}</p>' for e in errors]
    parts.append("\n</div>\n")
    return "".join(parts)


def form_html(form: forms.BaseForm) -> SafeString:
    """includes/form.html: non-field errors, hidden fields with their errors, then each visible field."""
    parts = [errors_html(form)]
    for hidden in form.hidden_fields():
        parts.append(_text(hidden))
        parts += [f'<p class="field-error" role="alert">{_text(e)}</p>' for e in hidden.errors]
    parts += [field_html(field) for field in form.visible_fields()]
    parts.append("\n")  # the include's own final newline
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)
