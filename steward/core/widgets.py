"""Form widgets that render the same HTML as Django's, in Python instead of through the template engine.

Django renders every <option> of a select through two included templates: a select of 200 advisers (the
owner filter of the case list and the handoff form of the case page at a million cases) took tens of
milliseconds per page (issue 9). `FastSelect` writes the same markup directly; escaping is the same.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Iterable
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _escape(value: Any) -> str:
    """conditional_escape without its lazy-argument wrapper (a third of a 200-option select's time):
    markup kept as it is, anything else (lazy strings included) made text and escaped the same way."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


def _attrs(attrs: dict[str, Any]) -> str:
    """Like django/forms/widgets/attrs.html: True as a bare name, False left out, values escaped."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {conditional_escape(name)}")
        else:
            out.append(f' {conditional_escape(name)}="{conditional_escape(str(value))}"')
    return "".join(out)


class FastSelect(forms.Select):
    """A single select rendered without the template engine (the HTML of django/forms/widgets/select.html)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        if type(self.choices) is ModelChoiceIterator:
            # Read the choices with one ordinary query: the iterator's own path is a server-side cursor
            # (DECLARE, FETCH, CLOSE: three round trips per select and page, issue 9). Same rows, order
            # and labels; this widget is the form instance's own copy, so nothing outlives the request.
            self.choices = _read(self.choices)
        if self._plain():
            fast = self._render_plain(name, value, attrs)
            if fast is not None:
                return fast
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in options:
                parts.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                    f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)

    def _plain(self) -> bool:
        """A single select whose options carry no attributes of their own (Django's Select): each
        option is then only a value, a label and `selected`, without optgroups' dict per option."""
        cls = type(self)
        return (
            not self.allow_multiple_selected
            and not cls.option_inherits_attrs
            and cls.optgroups is forms.Select.optgroups
            and cls.create_option is forms.Select.create_option
            and cls.get_context is forms.Select.get_context
        )

    def _render_plain(self, name: str, value: Any, attrs: dict[str, Any] | None) -> SafeString | None:
        """The markup of the general path above for a plain select: 0.6 ms less for 200 advisers.
        None when a choice is a group (the general path writes the optgroup)."""
        values = self.format_value(value)  # what get_context passes to optgroups
        parts = [f'<select name="{conditional_escape(name)}"{_attrs(self.build_attrs(self.attrs, attrs))}>']
        has_selected = False
        for option_value, label in self.choices:
            if isinstance(label, list | tuple):
                return None
            text = "" if option_value is None else str(option_value)
            selected = not has_selected and text in values  # ChoiceWidget.optgroups
            has_selected |= selected
            parts.append(
                f'\n  <option value="{_escape(text)}"{" selected" if selected else ""}>'
                f"{_escape(label)}</option>\n"
            )
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


class FastInputMixin:
    """Text-like inputs and checkboxes with the HTML of django/forms/widgets/input.html (+ attrs.html),
    written without the template engine: two template renders per field, 25 fields on the case page
    (issue 9). Same context (get_context), same escaping; Django's renderer strips, so no newline."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        shown = widget["value"]
        value_attr = "" if shown is None else f' value="{conditional_escape(str(shown))}"'
        return mark_safe(  # noqa: S308 (every value is escaped)
            f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
            f"{value_attr}{_attrs(widget['attrs'])}>"
        )


class FastTextarea(forms.Textarea):
    """A textarea with the HTML of django/forms/widgets/textarea.html, without the template engine."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        text = conditional_escape(widget["value"]) if widget["value"] else ""
        return mark_safe(  # noqa: S308 (every value is escaped)
            f'<textarea name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>'
            f"\n{text}</textarea>"
        )


class FastTextInput(FastInputMixin, forms.TextInput):
    pass


class FastNumberInput(FastInputMixin, forms.NumberInput):
    pass


class FastHiddenInput(FastInputMixin, forms.HiddenInput):
    pass


class FastDateTimeInput(FastInputMixin, forms.DateTimeInput):
    pass


class FastCheckboxInput(FastInputMixin, forms.CheckboxInput):
    pass


# Exact widget class -> its Python-rendered twin (a subclass: same attributes, value handling, media).
FAST_WIDGETS: dict[type[forms.Widget], type[forms.Widget]] = {
    forms.Select: FastSelect,
    forms.TextInput: FastTextInput,
    forms.NumberInput: FastNumberInput,
    forms.HiddenInput: FastHiddenInput,
    forms.DateTimeInput: FastDateTimeInput,
    forms.CheckboxInput: FastCheckboxInput,
    forms.Textarea: FastTextarea,
}


def _read(choices: ModelChoiceIterator) -> list[Any]:
    field = choices.field
    empty = [("", field.empty_label)] if field.empty_label is not None else []
    return empty + [choices.choice(obj) for obj in choices.queryset.all()]


def use_fast_selects(form_classes: Iterable[type[forms.BaseForm]]) -> None:
    """Give the plain selects, inputs, checkboxes and textareas of these forms their Python-rendered
    twin (same attributes, choices, values and HTML); other widgets (files, multiple selects) keep
    Django's templates."""
    for form_class in form_classes:
        for field in getattr(form_class, "base_fields", {}).values():
            fast = FAST_WIDGETS.get(type(field.widget))
            if fast is not None:
                widget = copy.copy(field.widget)
                widget.__class__ = fast
                field.widget = widget
