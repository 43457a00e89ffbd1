from django.db import models
from django.utils.translation import gettext_lazy as _

# A working day of the default business calendar (09:00-17:00): the default target of a sector task.
DEFAULT_TASK_TARGET_MINUTES = 480


class Distance(models.IntegerChoices):
    """How far a sector sits from the customer (essay 3). Ordinal, no formula behind it."""

    FRONT_LINE = 0, _("Front line")
    NEAR = 1, _("Near the customer")
    MIDDLE = 2, _("Middle office")
    BACK_OFFICE = 3, _("Back office")
    FAR_BACK_OFFICE = 4, _("Far back office")


class Sector(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    distance = models.PositiveSmallIntegerField(
        _("distance from the customer"), choices=Distance.choices, default=Distance.BACK_OFFICE
    )
    description = models.TextField(_("description"), blank=True)
    default_task_target_minutes = models.PositiveIntegerField(
        _("default task target (business minutes)"),
        default=DEFAULT_TASK_TARGET_MINUTES,
        help_text=_("Used when a task has no kind with its own target."),
    )

    class Meta:
        ordering = ["distance", "name"]
        verbose_name = _("sector")
        verbose_name_plural = _("sectors")

    def __str__(self) -> str:
        return self.name


class TaskKind(models.Model):
    """A kind of work a sector does for cases, with its internal service level (target time)."""

    sector = models.ForeignKey(
        Sector, verbose_name=_("sector"), on_delete=models.CASCADE, related_name="task_kinds"
    )
    name = models.CharField(_("name"), max_length=120)
    target_minutes = models.PositiveIntegerField(_("target (business minutes)"))

    class Meta:
        ordering = ["sector__distance", "sector__name", "name"]
        verbose_name = _("kind of task")
        verbose_name_plural = _("kinds of task")
        constraints = [
            models.UniqueConstraint(fields=["sector", "name"], name="taskkind_unique_name_per_sector"),
            models.CheckConstraint(condition=models.Q(target_minutes__gt=0), name="taskkind_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.sector} · {self.name}"


class Holiday(models.Model):
    """A day off for the whole organisation: no business minutes count on it."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"
