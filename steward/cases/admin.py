"""Read-only admin for cases: every change to a case goes through the services and its event log.

Administrators can look a case up (its conversation, notes, handoffs, next steps, files and the
whole event log) but not change it here. Categories are reference data and are edited plainly.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Attachment, Case, CaseEvent, Category, Commitment, Handoff, Message, Note, SectorTask


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("version", "kind", "at", "actor", "sector", "data")
    readonly_fields = fields
    ordering = ("version",)


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ("created_at", "direction", "channel", "author", "is_automatic", "body")
    readonly_fields = fields


class NoteInline(ReadOnlyInline):
    model = Note
    fields = ("created_at", "author", "body")
    readonly_fields = fields


class HandoffInline(ReadOnlyInline):
    model = Handoff
    fk_name = "case"
    fields = ("created_at", "from_user", "to_user", "by", "customer_need", "done_so_far")
    readonly_fields = fields


class CommitmentInline(ReadOnlyInline):
    model = Commitment
    fields = ("description", "promised_by", "due_at", "state", "resolved_at", "resolved_by")
    readonly_fields = fields


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("created_at", "original_name", "content_type", "size", "uploaded_by")
    readonly_fields = fields


class SectorTaskInline(ReadOnlyInline):
    model = SectorTask
    fields = (
        "sector",
        "task_kind",
        "state",
        "assignee",
        "target_minutes",
        "created_at",
        "due_at",
        "completed_at",
    )
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "customer", "kind", "status", "closure", "owner", "created_at")
    list_filter = ("status", "closure", "kind", "channel", "priority", "is_repeat_contact", "category")
    search_fields = ("=id", "subject", "customer__name", "customer__email")
    list_select_related = ("customer", "owner")
    date_hierarchy = "created_at"
    show_full_result_count = False  # a COUNT(*) per page is costly on a large case table
    inlines = [
        MessageInline,
        NoteInline,
        HandoffInline,
        CommitmentInline,
        AttachmentInline,
        SectorTaskInline,
        EventInline,
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("customer", "owner", "category", "team")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # cases keep their category for the reports
