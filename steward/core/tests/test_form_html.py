"""`{% form_fields form %}` writes exactly what `{% include "includes/form.html" %}` renders."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator

import pytest
from django import forms
from django.template import engines
from django.test import RequestFactory
from django.utils import translation

pytestmark = pytest.mark.django_db

TRAP = "<script>alert('x')</script> & \"quoted\" {{ 7|add:3 }}"
FORM_MODULES = [
    "steward.cases.forms",
    "steward.costs.forms",
    "steward.sectors.forms",
    "steward.accounts.forms",
    "steward.customers.forms",
    "steward.reviews.forms",
    "steward.surveys.forms",
    "steward.decisions.forms",
    "steward.portal.forms",
]


def _form_classes() -> Iterator[type[forms.BaseForm]]:
    for name in FORM_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, forms.BaseForm)
                and value.__module__ == name
                and getattr(value, "base_fields", None)
            ):
                yield value


def _instances(form_class: type[forms.BaseForm]) -> Iterator[forms.BaseForm]:
    """Unbound, bound empty (required errors), bound with hostile text everywhere, and with errors
    added by hand on every field, a hidden field and the form."""
    try:
        yield form_class()
    except TypeError:  # a form that needs arguments (an instance, a user…) is not on these pages
        return
    empty = form_class(data={})
    empty.is_valid()
    yield empty
    names = list(getattr(form_class, "base_fields", {}))
    hostile = form_class(data=dict.fromkeys(names, TRAP))
    hostile.is_valid()
    yield hostile
    marked = form_class(data=dict.fromkeys(names, "1"), auto_id="x_%s")
    marked.is_valid()
    marked.add_error(None, TRAP)
    for name in marked.fields:
        marked.add_error(name, f"{name}: {TRAP}") if name in marked.cleaned_data else None
    yield marked


def _both(form: forms.BaseForm) -> tuple[str, str]:
    engine = engines["django"]
    request = RequestFactory().get("/")
    old = engine.from_string('{% include "includes/form.html" %}').render({"form": form}, request)
    new = engine.from_string("{% load form_html %}{% form_fields form %}").render({"form": form}, request)
    return old, new


def test_every_form_renders_the_same_as_the_include():
    classes = list(_form_classes())
    assert len(classes) > 20
    checked = 0
    for form_class in classes:
        for form in _instances(form_class):
            old, new = _both(form)
            assert new == old, form_class
            checked += 1
    assert checked > 60


@pytest.mark.parametrize("language", ["en", "th", "ru", "es"])
def test_the_case_page_forms_render_the_same_in_every_language(language):
    from steward.cases.views import ACTIONS
    from steward.costs.forms import CompensationForm

    with translation.override(language):
        for form_class in [action.form for action in ACTIONS.values()] + [CompensationForm]:
            for form in _instances(form_class):
                old, new = _both(form)
                assert new == old, form_class


def test_a_checkbox_field_puts_its_label_after_the_box():
    from steward.cases.forms import ReplyForm

    old, new = _both(ReplyForm(initial={"expected_version": 3}))
    assert new == old
    assert '<div class="field check">' in new and 'name="wait_for_customer"' in new
    assert 'name="expected_version" value="3"' in new


def test_the_fast_widgets_render_what_djangos_widget_templates_render():
    """Every field of these forms whose widget is a Python-rendered twin (steward/core/widgets.py), in
    every state above: the same HTML as the Django widget it stands for."""
    import copy

    from steward.core.widgets import FAST_WIDGETS

    django_class = {fast: plain for plain, fast in FAST_WIDGETS.items()}
    compared = 0
    for form_class in _form_classes():
        for form in _instances(form_class):
            for bound in form:
                widget = bound.field.widget
                if type(widget) not in django_class:
                    continue
                plain = copy.copy(widget)
                plain.__class__ = django_class[type(widget)]
                expected = bound.as_widget(widget=plain)
                assert bound.as_widget() == expected, (form_class, bound.name)
                compared += 1
    assert compared > 150
