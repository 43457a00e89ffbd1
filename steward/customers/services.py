from django.db import transaction
from django.utils.translation import gettext as _

from steward.core.errors import DomainError

from .models import Customer


@transaction.atomic
def customer_create(
    *,
    actor: object | None,
    name: str,
    email: str = "",
    phone: str = "",
    language: str = "en",
    organisation: str = "",
) -> Customer:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("A customer needs a name."), field="name")
    email = (email or "").strip().lower()
    if email and Customer.objects.filter(email=email).exists():
        raise DomainError(_("A customer with this e-mail address already exists."), field="email")
    return Customer.objects.create(
        name=name, email=email, phone=phone, language=language, organisation=organisation
    )
