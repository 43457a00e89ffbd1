"""The Python-rendered widgets write exactly what Django's widget templates write (issue 9)."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from steward.core.widgets import FastSelect

CHOICES = [
    ("", "---------"),
    (None, "None as a value"),
    (1, "One <b>&</b> \"quoted\" 'single'"),
    ("2", gettext_lazy("Open")),
    ("two words", "Two"),
    (1, "One again (only the first is selected)"),
    ("<x>", "Angle value"),
    ("safe", mark_safe("<i>markup kept</i>")),
    (7, 7),
]
GROUPED = [("", "Any"), ("Group & co", [(3, "Three"), (4, "Four")]), (5, "Five")]
ATTRS = [None, {"id": "id_owner", "required": True, "disabled": False, "data-x": 'a"b'}]


@pytest.mark.parametrize("choices", [CHOICES, GROUPED, []])
@pytest.mark.parametrize("value", [None, "", 1, "1", "2", "<x>", "missing", 4])
@pytest.mark.parametrize("attrs", ATTRS)
def test_fast_select_writes_what_django_writes(choices, value, attrs):
    django_html = forms.Select(attrs={"class": "c"}, choices=choices).render("owner", value, attrs)
    fast = FastSelect(attrs={"class": "c"}, choices=choices)
    assert fast.render("owner", value, attrs) == django_html


def test_a_select_with_options_of_its_own_takes_the_general_path():
    class WithOptionAttrs(FastSelect):
        option_inherits_attrs = True

    widget = WithOptionAttrs(choices=CHOICES)
    assert not widget._plain() and FastSelect(choices=CHOICES)._plain()
    assert FastSelect(choices=CHOICES)._render_plain("x", None, None) is not None
    assert FastSelect(choices=GROUPED)._render_plain("x", None, None) is None


@pytest.mark.django_db
@pytest.mark.parametrize("chosen", [None, 1])
def test_the_case_filter_sector_select_writes_what_a_model_choice_field_writes(chosen):
    from steward.cases.forms import CaseFilterForm
    from steward.sectors.models import Sector

    made = [
        Sector.objects.create(name=name, slug=f"s{i}", distance=i % 2)
        for i, name in enumerate(["Billing & <Refunds>", "Field", "Ärger"])
    ]
    value = made[chosen].pk if chosen is not None else ""
    field = forms.ModelChoiceField(queryset=Sector.objects.all(), required=False, empty_label="Any sector")
    choices: Any = field.choices
    expected = forms.Select(choices=choices).render("sector", value, {"id": "id_sector"})
    form = CaseFilterForm({"scope": "all", "sector": value})
    with translation.override("en"):
        assert str(form["sector"]) == expected
