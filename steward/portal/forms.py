"""Portal forms: input shape only; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from steward.cases.forms import MultipleFileField


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )


class PortalCaseForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(
        label=_("What do you need?"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("PDF, images, plain text or Office documents."),
    )


class PortalMessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 4}), max_length=20000
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)


class NotSolvedForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still not solved?"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )
