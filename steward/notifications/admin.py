"""Read-only admin for the outbox: administrators see every mail, its state and last error, and can
send a failed mail again (through the service). Nothing is edited or deleted here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from steward.core.errors import DomainError

from .models import CommitmentReminder, MailState, OutboundMail
from .services import outbound_retry


@admin.register(OutboundMail)
class OutboundMailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "to", "case", "state", "attempts", "sent_at", "last_error")
    list_filter = ("state", "kind", "recipient_kind", "language")
    search_fields = ("=case__id", "to", "subject", "message_id")
    list_select_related = ("case",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["send_again"]
    readonly_fields = [f.name for f in OutboundMail._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_send_again_permission(self, request: HttpRequest) -> bool:
        # The rows themselves stay read-only; sending again needs the change permission on them.
        return request.user.has_perm("notifications.change_outboundmail")

    @admin.action(description=_("Send the selected failed mail again"), permissions=["send_again"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutboundMail]) -> None:
        retried = 0
        for outbound in queryset.filter(state=MailState.FAILED):
            try:
                outbound_retry(outbound=outbound)
            except DomainError as exc:
                self.message_user(request, str(exc.message), messages.WARNING)
            else:
                retried += 1
        self.message_user(request, _("Mail queued to be sent again: %(count)d") % {"count": retried})


@admin.register(CommitmentReminder)
class CommitmentReminderAdmin(admin.ModelAdmin):
    list_display = ("commitment", "reminded_at")
    list_select_related = ("commitment",)
    readonly_fields = ("commitment", "reminded_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
