"""Inbound mail for administrators: read-only, with the raw message of quarantined mail to download."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import FileResponse, Http404, HttpRequest
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import Role
from steward.core.errors import DomainError

from .models import InboundMail, InboundState
from .services import mail_retry


def _is_administrator(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active and user.is_staff and (user.is_superuser or getattr(user, "role", "") == Role.ADMIN)
    )


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = ("received_at", "state", "from_address", "subject", "short_reason", "case", "download")
    list_filter = ("state",)
    search_fields = ("from_address", "subject", "message_id", "reason")
    date_hierarchy = "received_at"
    list_select_related = ("case",)
    readonly_fields = (
        "message_id",
        "received_at",
        "from_address",
        "from_name",
        "subject",
        "state",
        "reason",
        "case",
        "case_message",
        "duplicate_of",
        "size",
        "raw_sha256",
        "created_at",
        "download",
    )
    fields = readonly_fields

    actions = ["receive_again"]

    @admin.action(description=_("Receive the selected quarantined mail again"))
    def receive_again(self, request: HttpRequest, queryset: Any) -> None:
        done = 0
        for inbound in queryset.filter(state=InboundState.QUARANTINED):
            try:
                result = mail_retry(actor=request.user, inbound=inbound)  # type: ignore[arg-type]
            except DomainError as exc:
                self.message_user(request, str(exc.message), level=messages.ERROR)
                return
            done += result.state != InboundState.QUARANTINED
        self.message_user(request, _("%(count)d quarantined mail received again.") % {"count": done})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_administrator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_administrator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing that arrived is ever lost

    @admin.display(description=_("reason"))
    def short_reason(self, obj: InboundMail) -> str:
        return obj.reason if len(obj.reason) <= 120 else obj.reason[:119] + "…"

    @admin.display(description=_("raw message"))
    def download(self, obj: InboundMail) -> str:
        if not obj.raw:
            return "-"
        url = reverse("admin:mail_inboundmail_raw", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download .eml"))

    def get_urls(self) -> list[URLPattern]:
        raw = path("<int:pk>/raw/", self.admin_site.admin_view(self.raw_view), name="mail_inboundmail_raw")
        return [raw, *super().get_urls()]

    def raw_view(self, request: HttpRequest, pk: int) -> FileResponse:
        inbound = InboundMail.objects.filter(pk=pk).first()
        if inbound is None or not inbound.raw or not self.has_view_permission(request, inbound):
            raise Http404
        return FileResponse(
            inbound.raw.open("rb"),
            as_attachment=True,
            filename=f"inbound-{inbound.pk}.eml",
            content_type="message/rfc822",
        )
