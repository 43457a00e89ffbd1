"""Sectors in the admin: new ones are created through the service (which gives the short name)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Holiday, Sector, TaskKind
from .services import sector_create


class SectorAdminForm(forms.ModelForm):
    class Meta:
        model = Sector
        fields = ("name", "distance", "description", "default_task_target_minutes")

    def clean_name(self) -> str:
        # The same check sector_create makes (any letter case), shown as a form error.
        name = (self.cleaned_data.get("name") or "").strip()
        if Sector.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("A sector with this name already exists."))
        return name


class TaskKindInline(admin.TabularInline):
    """Kinds of task and their targets: an internal service level, edited with the sector."""

    model = TaskKind
    extra = 1
    fields = ("name", "target_minutes")


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    form = SectorAdminForm
    list_display = ("name", "distance", "slug", "default_task_target_minutes")
    inlines = [TaskKindInline]
    list_filter = ("distance",)
    search_fields = ("name",)
    readonly_fields = ("slug",)

    def save_model(self, request: HttpRequest, obj: Sector, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = sector_create(
            actor=request.user, name=obj.name, distance=obj.distance, description=obj.description
        )
        obj.pk, obj.slug = created.pk, created.slug
        # The target is reference data, not part of the name rule sector_create checks.
        Sector.objects.filter(pk=created.pk).update(
            default_task_target_minutes=obj.default_task_target_minutes
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # people and case events point to sectors


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    """Days off for the business calendar: no business minutes count on them."""

    list_display = ("date", "name")
    date_hierarchy = "date"
