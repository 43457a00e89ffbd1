"""Blameless reviews: what made a delay possible, and what will prevent it. There is no culprit field."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class RootCause(models.Model):
    """A category of cause (a tree: Capacity › Staff away at peak). About conditions, never people."""

    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    code = models.SlugField(_("code"), max_length=60, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("root cause")
        verbose_name_plural = _("root causes")

    def __str__(self) -> str:
        # Seeded names are msgids (steward/reviews/root_causes.py); names added later show as written.
        if self.parent_id and self.parent:
            return f"{gettext(self.parent.name)} › {gettext(self.name)}"
        return gettext(self.name)


class Scope(models.TextChoices):
    CASE = "case", _("One complaint")
    CLASS = "class", _("A class of complaints")


class Review(models.Model):
    title = models.CharField(_("title"), max_length=200)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=20, blank=True)
    category = models.ForeignKey(
        "cases.Category", verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT
    )
    period_from = models.DateField(_("opened from"), null=True, blank=True)
    period_to = models.DateField(_("opened to"), null=True, blank=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("opened"))

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        # The reviews list, newest first.
        indexes = [models.Index(fields=["-opened_at", "-id"], name="review_opened")]

    def __str__(self) -> str:
        return self.title


class Finding(models.Model):
    """Answers "What made this delay possible?" with a root cause; optionally where it showed."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="findings")
    root_cause = models.ForeignKey(RootCause, verbose_name=_("root cause"), on_delete=models.PROTECT)
    description = models.TextField(_("What made this delay possible?"))
    sector = models.ForeignKey(
        "sectors.Sector", verbose_name=_("where it showed"), null=True, blank=True, on_delete=models.PROTECT
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return str(self.root_cause)


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class CorrectiveAction(models.Model):
    """Answers "What will prevent it?": owned by a sector (not a person to blame), with a due date."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="actions")
    finding = models.ForeignKey(
        Finding, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    description = models.TextField(_("What will prevent it?"))
    owner_sector = models.ForeignKey(
        "sectors.Sector", verbose_name=_("owner sector"), on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")
        # The follow-up list: open actions by due date, overdue first.
        indexes = [models.Index(fields=["status", "due_on"], name="action_status_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open", done_at__isnull=True)
                | models.Q(status="done", done_at__isnull=False),
                name="action_done_has_done_at",
            )
        ]

    def __str__(self) -> str:
        return self.description[:80]
