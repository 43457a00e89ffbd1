"""Customers in the admin: new ones are created through the service; existing ones are edited plainly."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Customer, EconomicsInputs
from .services import customer_create


class CustomerAdminForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("language"), choices=settings.LANGUAGES)

    class Meta:
        model = Customer
        fields = (
            "name",
            "email",
            "phone",
            "language",
            "organisation",
            "acquired_on",
            "churned_on",
            "monthly_margin_minor",
        )

    def clean_email(self) -> str:
        # The same check customer_create makes, shown as a form error instead of a refusal.
        email = (self.cleaned_data.get("email") or "").strip().lower()
        others = Customer.objects.filter(email=email).exclude(pk=self.instance.pk)
        if email and others.exists():
            raise forms.ValidationError(_("A customer with this e-mail address already exists."))
        return email


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = ("name", "email", "phone", "language", "organisation", "created_at")
    list_filter = ("language",)
    search_fields = ("name", "email", "phone", "organisation")
    readonly_fields = ("created_at",)

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = customer_create(
            actor=request.user,
            name=obj.name,
            email=obj.email,
            phone=obj.phone,
            language=obj.language,
            organisation=obj.organisation,
        )
        obj.pk, obj.created_at = created.pk, created.created_at

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # customers carry cases; they are never deleted


@admin.register(EconomicsInputs)
class EconomicsInputsAdmin(admin.ModelAdmin):
    """Read only here: managers enter the months on the economics inputs page (one write path)."""

    list_display = (
        "month",
        "currency",
        "revenue_minor",
        "sales_marketing_minor",
        "margin_per_customer_minor",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
