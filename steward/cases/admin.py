"""Read-only admin: every change to a case goes through the services (and its event log)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Case, CaseEvent, Category


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("version", "kind", "at", "actor", "sector", "data")
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "customer", "status", "owner", "created_at")
    list_filter = ("status", "kind", "channel")
    search_fields = ("subject", "customer__name", "customer__email")
    list_select_related = ("customer", "owner")
    inlines = [EventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(Category)
