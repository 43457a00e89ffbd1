from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from steward.core.business_calendar import (
    validate_business_days,
    validate_business_hours,
    validate_time_zone,
)


class Role(models.TextChoices):
    ADVISER = "adviser", _("Adviser")
    SECTOR_MEMBER = "sector_member", _("Sector member")
    MANAGER = "manager", _("Service manager")
    EXECUTIVE = "executive", _("Executive")
    ADMIN = "admin", _("Administrator")


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    # The team's business calendar (case durations in business time, metrics.md §3.8). Blank means the
    # organisation's setting: TIME_ZONE, STEWARD_BUSINESS_HOURS, STEWARD_BUSINESS_DAYS.
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("IANA name such as Asia/Bangkok; blank uses the organisation's time zone."),
    )
    business_hours = models.CharField(
        _("business hours"),
        max_length=11,
        blank=True,
        validators=[validate_business_hours],
        help_text=_("For example 08:30-17:30; blank uses the organisation's hours."),
    )
    business_days = models.CharField(
        _("working days"),
        max_length=27,
        blank=True,
        validators=[validate_business_days],
        help_text=_("For example mon,tue,wed,thu,fri; blank uses the organisation's working days."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.ADVISER)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    sector = models.ForeignKey(
        "sectors.Sector",
        verbose_name=_("sector"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    backup = models.ForeignKey(
        "self",
        verbose_name=_("backup"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backs_up",
        help_text=_("Covers this person's cases, with full access, while they are away."),
    )
    language = models.CharField(_("language"), max_length=8, default="en")

    class Meta:
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def sees_everything(self) -> bool:
        """Managers, executives and administrators see every case."""
        return self.is_superuser or self.role in (Role.MANAGER, Role.EXECUTIVE, Role.ADMIN)

    @property
    def manages_cases(self) -> bool:
        return self.is_superuser or self.role in (Role.MANAGER, Role.ADMIN)


class AbsenceQuerySet(models.QuerySet["Absence"]):
    def covering(self, at: datetime) -> AbsenceQuerySet:
        return self.filter(starts_at__lte=at, ends_at__gt=at)

    def overlapping(self, starts_at: datetime, ends_at: datetime) -> AbsenceQuerySet:
        return self.filter(Q(starts_at__lt=ends_at) & Q(ends_at__gt=starts_at))


class Absence(models.Model):
    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="absences"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("to"))
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="absences_created"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AbsenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        # "Who is away now?" is asked on every case page and case list.
        indexes = [models.Index(fields=["user", "starts_at", "ends_at"], name="absence_user_window")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="absence_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """Which session keys belong to a user, so all of them can be ended at once (deactivation)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tracked_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user_id}:{self.session_key[:6]}…"
