from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.http import HttpRequest

from .models import Absence, Team, User
from .services import backup_problem


class StewardUserChangeForm(UserChangeForm):
    def clean_backup(self) -> User | None:
        backup = self.cleaned_data.get("backup")
        problem = backup_problem(self.instance, backup)
        if problem:
            raise forms.ValidationError(problem)
        return backup


@admin.register(User)
class StewardUserAdmin(UserAdmin):
    form = StewardUserChangeForm
    list_display = ("username", "first_name", "last_name", "role", "team", "backup", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Steward", {"fields": ("role", "team", "sector", "backup", "language")}),
    )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj._audit_actor = request.user  # who changed roles, activity or backup (steward.audit)
        super().save_model(request, obj, form, change)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "business_hours", "business_days")
    search_fields = ("name",)


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    """Read-only: absences are recorded on the absences page, through absence_create (overlap checks)."""

    list_display = ("user", "starts_at", "ends_at", "reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
