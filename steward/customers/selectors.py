from __future__ import annotations

from django.db.models import Q, QuerySet

from steward.accounts.models import Role, User

from .models import Customer

STAFF_ROLES = (Role.ADVISER, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN)


def may_manage_customers(user: User) -> bool:
    """Front-line staff need every customer to open cases; sector members reach them through cases."""
    return user.is_authenticated and user.is_active and (user.is_superuser or user.role in STAFF_ROLES)


def customers_visible_to(user: User) -> QuerySet[Customer]:
    return Customer.objects.all() if may_manage_customers(user) else Customer.objects.none()


def customer_search(qs: QuerySet[Customer], term: str) -> QuerySet[Customer]:
    term = (term or "").strip()
    if not term:
        return qs
    return qs.filter(Q(name__icontains=term) | Q(email__icontains=term) | Q(phone__icontains=term))
