from __future__ import annotations

from django.db.models import Q, QuerySet

from steward.accounts.models import Role, User

from .models import Customer

STAFF_ROLES = (Role.ADVISER, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN)


def may_manage_customers(user: User) -> bool:
    """Front-line staff need every customer to open cases; sector members reach them through cases."""
    return user.is_authenticated and user.is_active and (user.is_superuser or user.role in STAFF_ROLES)


def customers_visible_to(user: User) -> QuerySet[Customer]:
    """Who may see which customers: the one rule for the HTML pages and the API.

    Advisers, managers, executives and administrators see every customer: they open cases for them.
    Sector members see a customer only through a case they work on, so none here; an unknown or
    invisible customer is a 404 for them.
    """
    return Customer.objects.all() if may_manage_customers(user) else Customer.objects.none()


def customer_search(qs: QuerySet[Customer], term: str, *, email: str = "") -> QuerySet[Customer]:
    """Narrow `qs` by a free-text term and, when given, an exact e-mail address (any case).

    NUL characters are dropped: PostgreSQL refuses them in a query, and no name or address holds one.
    """
    email = (email or "").replace("\x00", "").strip()
    if email:
        qs = qs.filter(email__iexact=email)
    term = (term or "").replace("\x00", "").strip()
    if not term:
        return qs
    return qs.filter(Q(name__icontains=term) | Q(email__icontains=term) | Q(phone__icontains=term))


def customer_by_email(address: str) -> Customer | None:
    """The customer with this address (the oldest, should two share it), for inbound mail and portal sign-in.

    customer_create stores addresses lower-cased, so an exact match on the lower-cased address finds any
    spelling through the `customer_email` index, where `iexact` (UPPER() on PostgreSQL) could not.
    """
    address = (address or "").replace("\x00", "").strip().lower()
    if not address:
        return None
    return Customer.objects.filter(email=address).order_by("pk").first()
