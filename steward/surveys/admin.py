"""Admin: surveys, responses and webhook deliveries are read-only records; follow-ups and wording are
changed through the manager pages (which call the services), so the admin only shows them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    FollowUp,
    NpsCampaign,
    QuestionnaireVersion,
    QuestionWording,
    Survey,
    SurveyResponse,
    WebhookDelivery,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdmin):
    list_display = (
        "sent_at",
        "kind",
        "customer",
        "case",
        "language",
        "questionnaire_version",
        "responded_at",
    )
    list_filter = ("kind", "language", "questionnaire_version")
    search_fields = ("=case__id", "customer__name", "customer__email")
    list_select_related = ("customer", "case")
    date_hierarchy = "sent_at"
    exclude = ("token_hash",)


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyAdmin):
    list_display = ("responded_at", "kind", "customer", "case", "csat", "ces", "nps", "solved")
    list_filter = ("kind", "questionnaire_version", "csat", "solved")
    search_fields = ("=case__id", "customer__name", "comment")
    list_select_related = ("customer", "case")
    date_hierarchy = "responded_at"


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ("due_at", "state", "assignee", "customer", "case", "reason", "done_at")
    list_filter = ("state",)
    search_fields = ("=case__id", "customer__name", "reason")
    list_select_related = ("assignee", "customer", "case")


@admin.register(NpsCampaign)
class NpsCampaignAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "created_by", "state", "matched", "sent", "skipped", "finished_at")
    list_filter = ("state",)
    list_select_related = ("created_by",)


@admin.register(QuestionnaireVersion)
class QuestionnaireVersionAdmin(ReadOnlyAdmin):
    list_display = ("number", "csat_max", "ces_max", "nps_max", "note", "created_at")


@admin.register(QuestionWording)
class QuestionWordingAdmin(ReadOnlyAdmin):
    list_display = ("question", "language", "text", "updated_at", "updated_by")
    list_filter = ("question", "language")
    list_select_related = ("updated_by",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "url", "state", "attempts", "last_status", "delivered_at")
    list_filter = ("state", "event")
    date_hierarchy = "created_at"
