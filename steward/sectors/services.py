import uuid

from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from steward.core.errors import DomainError

from .models import Distance, Sector


def _free_slug(name: str) -> str:
    base = slugify(name, allow_unicode=True)[:50] or "sector"
    slug = base
    while Sector.objects.filter(slug=slug).exists():
        slug = f"{base}-{uuid.uuid4().hex[:6]}"
    return slug


@transaction.atomic
def sector_create(*, actor: object | None, name: str, distance: int, description: str = "") -> Sector:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A sector needs a name."), field="name")
    if distance not in Distance.values:
        raise DomainError(_("Unknown distance from the customer."), field="distance")
    if Sector.objects.filter(name__iexact=name).exists():
        raise DomainError(_("A sector with this name already exists."), field="name")
    return Sector.objects.create(name=name, slug=_free_slug(name), distance=distance, description=description)
