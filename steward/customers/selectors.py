from __future__ import annotations

from django.db.models import Q, QuerySet

from steward.accounts.models import Role, User

from .models import Customer

STAFF_ROLES = (Role.ADVISER, Role.MANAGER, Role.EXECUTIVE, Role.ADMIN)


def customers_visible_to(user: User) -> QuerySet[Customer]:
    """Front-line staff need every customer to open cases; sector members see none directly."""
    if not user.is_authenticated or not user.is_active:
        return Customer.objects.none()
    if user.is_superuser or user.role in STAFF_ROLES:
        return Customer.objects.all()
    return Customer.objects.none()


def customer_search(qs: QuerySet[Customer], term: str) -> QuerySet[Customer]:
    term = (term or "").strip()
    if not term:
        return qs
    return qs.filter(Q(name__icontains=term) | Q(email__icontains=term) | Q(phone__icontains=term))
