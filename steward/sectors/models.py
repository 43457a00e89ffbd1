from django.db import models
from django.utils.translation import gettext_lazy as _


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

    class Meta:
        ordering = ["distance", "name"]
        verbose_name = _("sector")
        verbose_name_plural = _("sectors")

    def __str__(self) -> str:
        return self.name
