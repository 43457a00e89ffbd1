from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from steward.core.errors import DomainError

from .models import Distance, Sector


@transaction.atomic
def sector_create(*, actor: object | None, name: str, distance: int, description: str = "") -> Sector:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A sector needs a name."), field="name")
    if distance not in Distance.values:
        raise DomainError(_("Unknown distance from the customer."), field="distance")
    return Sector.objects.create(
        name=name, slug=slugify(name)[:60], distance=distance, description=description
    )
