"""Forms for the steps sector members take on a task. Shape only; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Sector


class TakeForm(forms.Form):
    pass


class LogWorkForm(forms.Form):
    minutes = forms.IntegerField(label=_("Minutes"), min_value=1, max_value=12 * 60)
    note = forms.CharField(label=_("What was done"), required=False, max_length=500)


class CompleteForm(forms.Form):
    note = forms.CharField(
        label=_("Result"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it goes back"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class QueueFilterForm(forms.Form):
    sector = forms.ModelChoiceField(
        label=_("Sector"), queryset=Sector.objects.all(), required=False, empty_label=_("All sectors")
    )
    ended = forms.BooleanField(label=_("Show ended tasks too"), required=False)
