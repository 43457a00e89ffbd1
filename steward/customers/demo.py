"""Demo loyalty-economics data for seed_demo, written through the customers services.

Every month of the demo period gets its economics inputs (revenue, sales and marketing, account
management, a margin per customer, a 10 % annual discount rate and a 5-point churn uplift assumption),
so the economics pages show figures; customers get an acquisition date up to three years before their
first case (they were customers before they wrote), and about one in ten a lost date after their last.
A random generator of its own keeps the rest of the seed (cases, surveys) exactly as it was.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from steward.accounts.models import User

from .models import Customer
from .services import customer_value_set, economics_inputs_set


def _months(first: date, last: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def seed_economics(*, manager: User, now: datetime, horizon_days: int) -> int:
    """Inputs for every month from the demo's start to now; returns how many customers were dated."""
    rng = random.Random(1990)  # Reichheld & Sasser's year; independent of the seed's own generator
    today = timezone.localdate(now)
    start = today - timedelta(days=horizon_days + 365)
    for month in _months(start, today):
        economics_inputs_set(
            actor=manager,
            month=month,
            currency=str(getattr(settings, "STEWARD_CURRENCY", "EUR")),
            revenue_minor=rng.randrange(2_000_000, 2_600_000, 100),
            sales_marketing_minor=rng.randrange(300_000, 450_000, 100),
            sales_marketing_note="Ads, sales salaries and commissions",
            account_management_minor=rng.randrange(50_000, 80_000, 100),
            margin_per_customer_minor=4_000,
            discount_rate_annual=Decimal("0.1"),
            churn_uplift_prior=Decimal("0.05"),
        )
    dated = 0
    spans = Customer.objects.annotate(first=Min("cases__created_at"), last=Max("cases__created_at")).order_by(
        "pk"
    )
    for customer in spans:
        first = (
            timezone.localdate(customer.first) if customer.first else timezone.localdate(customer.created_at)
        )
        acquired = first - timedelta(days=rng.randrange(0, 3 * 365))
        lost = None
        if customer.last and rng.random() < 0.1:
            last = timezone.localdate(customer.last)
            if (today - last).days > 2:
                lost = last + timedelta(days=rng.randrange(1, (today - last).days))
        customer_value_set(
            actor=manager, customer=customer, acquired_on=acquired, churned_on=lost, monthly_margin_minor=None
        )
        dated += 1
    return dated
