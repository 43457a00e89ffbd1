"""Forms validate input shape only; the rules live in services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import Role, User
from steward.core.widgets import use_fast_selects
from steward.customers.models import Customer
from steward.sectors.models import Sector, TaskKind

from .models import (
    MANUAL_STATUS_CHOICES,
    STAFF_CONFIRMATION_CHANNEL_CHOICES,
    Category,
    Channel,
    CommitmentState,
    Kind,
    Priority,
    Status,
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class UserChoiceIterator(ModelChoiceIterator):
    """A select of people read as (id, name) rows: the same options, values, order and labels as
    Django's iterator (User.display_name), without building a full User per option. The owner and
    handoff selects list every adviser: 200 at a million cases, twice on the case page (issue 9).
    Validation still reads the chosen User through the field's queryset."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        rows = self.queryset.values_list("pk", "first_name", "last_name", "username")
        for pk, first, last, username in rows:
            yield (pk, f"{first} {last}".strip() or username)  # = User.display_name


class UserChoiceField(forms.ModelChoiceField):
    iterator = UserChoiceIterator


class SectorChoiceIterator(ModelChoiceIterator):
    """Sectors read as (id, name) rows: the options of Django's iterator (Sector.__str__ is its name),
    without building a Sector per option (0.3 ms of the case list's CPU for six sectors)."""

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from self.queryset.values_list("pk", "name")


class SectorChoiceField(forms.ModelChoiceField):
    iterator = SectorChoiceIterator


def owner_choices() -> forms.ModelChoiceField:
    return UserChoiceField(
        label=_("To"),
        queryset=User.objects.filter(is_active=True, role__in=[Role.ADVISER, Role.MANAGER]).order_by(
            "first_name", "username"
        ),
    )


STATUS_FILTER_CHOICES = [("", _("Any status")), ("open", _("Not closed")), *Status.choices]
SCOPE_CHOICES = [("mine", _("Mine")), ("team", _("My team's")), ("all", _("All I may see"))]


class CaseFilterForm(forms.Form):
    scope = forms.ChoiceField(label=_("Cases"), choices=SCOPE_CHOICES, required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_FILTER_CHOICES, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("Any kind")), *Kind.choices], required=False)
    owner = UserChoiceField(
        label=_("Owner"),
        queryset=User.objects.filter(role__in=[Role.ADVISER, Role.MANAGER]),
        required=False,
        empty_label=_("Anyone"),
    )
    customer = forms.IntegerField(label=_("Customer"), required=False, widget=forms.HiddenInput)
    sector = SectorChoiceField(
        label=_("Owner's sector"), queryset=Sector.objects.all(), required=False, empty_label=_("Any sector")
    )
    overdue = forms.BooleanField(label=_("Next step overdue"), required=False)


class CaseOpenForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.all())
    subject = forms.CharField(label=_("Subject"), max_length=300)
    description = forms.CharField(label=_("What the customer said"), widget=forms.Textarea(attrs={"rows": 5}))
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.QUESTION)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all(), required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=Priority.NORMAL)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    owner = UserChoiceField(
        label=_("Owner"), queryset=User.objects.filter(is_active=True, role__in=[Role.ADVISER, Role.MANAGER])
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)


class VersionedForm(forms.Form):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class ReplyForm(VersionedForm):
    body = forms.CharField(label=_("Reply to the customer"), widget=forms.Textarea(attrs={"rows": 4}))
    wait_for_customer = forms.BooleanField(label=_("Then wait for the customer"), required=False)
    attachments = MultipleFileField(label=_("Attachments"), required=False)


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 3}))
    attachments = MultipleFileField(label=_("Attachments"), required=False)


class HandoffForm(VersionedForm):
    to_user = UserChoiceField(label=_("Hand over to"), queryset=User.objects.none())
    customer_need = forms.CharField(
        label=_("What the customer needs"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("In your own words, so the next adviser never asks the customer again."),
    )
    done_so_far = forms.CharField(label=_("What has been done"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = owner_choices()
        self.fields["to_user"].queryset = field.queryset  # type: ignore[attr-defined]


class NextStepForm(forms.Form):
    description = forms.CharField(label=_("Next step promised to the customer"), max_length=500)
    due_at = forms.DateTimeField(
        label=_("Due"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )


class CommitmentResolveForm(forms.Form):
    commitment = forms.IntegerField(widget=forms.HiddenInput)
    state = forms.ChoiceField(
        label=_("Outcome"), choices=[c for c in CommitmentState.choices if c[0] != CommitmentState.OPEN]
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class ProposeForm(VersionedForm):
    solution = forms.CharField(
        label=_("Solution, as the customer will read it"), widget=forms.Textarea(attrs={"rows": 4})
    )


class ConfirmForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("The customer confirmed by"),
        choices=STAFF_CONFIRMATION_CHANNEL_CHOICES,
    )
    note = forms.CharField(label=_("How the customer confirmed"), max_length=500)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class RepeatExplanationForm(forms.Form):
    comment = forms.CharField(label=_("What the customer had to repeat"), required=False, max_length=500)


class StatusForm(VersionedForm):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=MANUAL_STATUS_CHOICES,
    )


class SectorTaskForm(forms.Form):
    """Hand a step of the case to an internal sector."""

    sector = forms.ModelChoiceField(label=_("Sector"), queryset=Sector.objects.all())
    task_kind = forms.ModelChoiceField(
        label=_("Kind of task"),
        queryset=TaskKind.objects.select_related("sector"),
        required=False,
        help_text=_("Its target applies unless you give one below."),
    )
    description = forms.CharField(
        label=_("What should the sector do?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    target_minutes = forms.IntegerField(
        label=_("Target (business minutes)"),
        required=False,
        min_value=1,
        help_text=_("Empty: the kind's target, or the sector's default."),
    )


# Issue 9: selects of these forms (owners, sectors, statuses) render in Python, not option by option
# through the template engine (same HTML).
use_fast_selects(
    value
    for value in list(globals().values())
    if isinstance(value, type) and issubclass(value, forms.BaseForm)
)
