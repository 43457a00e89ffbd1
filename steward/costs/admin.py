"""Read-only admin for the ledger: every write goes through steward.costs.services (the Costs pages),
so rates stay versioned, compensation keeps its approval trail and case events, and overrides keep
their actor and reason. Administrators can look everything up here."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    ClassificationOverride,
    Compensation,
    CostEntry,
    ReviewMeeting,
    ReviewParticipant,
    SectorRate,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SectorRate)
class SectorRateAdmin(ReadOnlyAdmin):
    list_display = (
        "sector",
        "effective_from",
        "hourly_rate_minor",
        "currency",
        "productive_hours",
        "created_by",
    )
    list_filter = ("sector",)
    date_hierarchy = "effective_from"
    list_select_related = ("sector", "created_by")


@admin.register(Compensation)
class CompensationAdmin(ReadOnlyAdmin):
    list_display = (
        "case",
        "kind",
        "amount_minor",
        "currency",
        "state",
        "requested_by",
        "approved_by",
        "created_at",
    )
    list_filter = ("state", "kind")
    search_fields = ("reason", "case__subject")
    raw_id_fields = ("case",)
    list_select_related = ("case", "requested_by", "approved_by")


@admin.register(CostEntry)
class CostEntryAdmin(ReadOnlyAdmin):
    list_display = ("incurred_on", "description", "kind", "category", "amount_minor", "currency", "sector")
    list_filter = ("category", "kind")
    search_fields = ("description",)
    date_hierarchy = "incurred_on"
    list_select_related = ("sector",)


class ParticipantInline(admin.TabularInline):
    model = ReviewParticipant
    extra = 0
    can_delete = False
    fields = ("user", "sector")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReviewMeeting)
class ReviewMeetingAdmin(ReadOnlyAdmin):
    list_display = ("review", "held_on", "duration_minutes", "recorded_by")
    inlines = [ParticipantInline]
    list_select_related = ("review", "recorded_by")


@admin.register(ClassificationOverride)
class ClassificationOverrideAdmin(ReadOnlyAdmin):
    list_display = ("source", "source_id", "category", "reason", "actor", "created_at")
    list_filter = ("source", "category")
    list_select_related = ("actor",)
