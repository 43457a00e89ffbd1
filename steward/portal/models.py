"""Customer sign-in tokens and the unguessable public keys of cases in the portal."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


class PortalLoginToken(models.Model):
    """One magic link. Only the SHA-256 of the random token is stored: a database leak signs nobody in."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_login_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # The portal page the customer asked for before signing in (checked again when used). Kept on the
    # token, not in the session: the link is often opened in another browser than the one that asked.
    next_path = models.CharField(max_length=300, null=True, blank=True)

    class Meta:
        verbose_name = _("portal sign-in link")
        verbose_name_plural = _("portal sign-in links")

    def __str__(self) -> str:
        return f"sign-in link for customer #{self.customer_id} @ {self.created_at:%Y-%m-%d %H:%M}"


def new_case_key() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits, 22 URL-safe characters


class PortalCaseKey(models.Model):
    """The case's address in the portal: random, so case URLs cannot be guessed from case numbers."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="portal_key")
    key = models.CharField(max_length=32, unique=True, default=new_case_key)

    class Meta:
        verbose_name = _("portal case key")
        verbose_name_plural = _("portal case keys")

    def __str__(self) -> str:
        return f"portal key of case #{self.case_id}"
