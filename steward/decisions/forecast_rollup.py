"""The assessment's history read from the hourly contact rollup (models.ContactHour, contact_hours.py).

The whole hours of the range come from the rollup, the contacts of the partial hours at both ends
straight from the messages (index ranges under an hour), so the figures are exactly forecast.demand /
contact_rates over the range and forecast.handling_times over its whole hours (the reference;
tests/test_contact_hours.py compares them).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from steward.cases.models import Direction, Message

from . import forecast
from .contact_hours import HOUR
from .models import ContactHour


def _whole_hours(tz: ZoneInfo, start: datetime, end: datetime) -> bool:
    """Whether the zone's offset is whole hours over [start, end): then a UTC hour is one local hour
    and the rollup's hours bucket by local weekday and hour exactly as the messages' own times do.
    Sampled daily and at the end (an offset lasts months; a daily sample costs 56 calls for 8 weeks)."""
    at = start
    while True:
        offset = at.astimezone(tz).utcoffset()
        if offset is None or offset % HOUR:
            return False
        if at >= end:
            return True
        at = min(at + timedelta(days=1), end)


def _team(qs: Any, team_id: int | None, field: str) -> Any:
    return qs if team_id is None else qs.filter(**{field: team_id})


def history(
    team_id: int | None, start: datetime, end: datetime, tz: ZoneInfo, weeks: int, n_min: int
) -> tuple[forecast.Demand, forecast.Aht, forecast.ContactRate]:
    """forecast.demand and contact_rates over [start, end) and forecast.handling_times over its whole
    hours, from the rollup. The contacts of the partial hours at both ends come straight from the
    customers' messages (their time index, under an hour each), so the figures are the same.
    3 to 5 queries whatever the traffic."""
    a, b = forecast.whole_hours(start, end)
    # A zone with :30 or :45 offsets buckets a UTC hour into two local hours: its demand is read straight.
    local_hours = a < b and _whole_hours(tz, a, b)
    demand: dict[tuple[str, int, int], int] = defaultdict(int)
    by: dict[tuple[str, str], int] = defaultdict(int)
    notes: dict[str, int] = defaultdict(int)
    follow: dict[str, int] = defaultdict(int)
    inbound, outbound = Direction.INBOUND.value, Direction.OUTBOUND.value

    # 1. The whole hours [a, b): the rollup (a covering index range of the team's rows).
    whole = _team(ContactHour.objects.filter(hour__gte=a, hour__lt=b), team_id, "team_id")
    sums = {"c": Sum("contacts"), "f": Sum("follow_ups"), "r": Sum("replies"), "n": Sum("notes")}
    rows: Any
    if team_id is not None:  # ~10,000 rows of one team: grouped by local weekday and hour in SQL
        rows = (
            whole.annotate(wd=ExtractIsoWeekDay("hour", tzinfo=tz), hr=ExtractHour("hour", tzinfo=tz))
            .values("channel", "kind", "wd", "hr")
            .annotate(**sums)
            .values_list("channel", "kind", "wd", "hr", "c", "f", "r", "n")
            .order_by()
        )
    else:
        # Every team: ~190,000 rows at 1M, which PostgreSQL would sort on disk to group them by the
        # computed weekday and hour (1.2 s). Summed per hour in the index's order instead (~20,000 rows),
        # each hour placed in the local week here.
        local: dict[datetime, tuple[int, int]] = {}

        def week_hour(hour: datetime) -> tuple[int, int]:
            if hour not in local:
                at = hour.astimezone(tz)
                local[hour] = (at.isoweekday(), at.hour)
            return local[hour]

        rows = (
            (ch, kind, *week_hour(hour), c, f, r, n)
            for hour, ch, kind, c, f, r, n in whole.values("hour", "channel", "kind")
            .annotate(**sums)
            .values_list("hour", "channel", "kind", "c", "f", "r", "n")
            .order_by()
        )
    for ch, kind, wd, hr, c, f, r, n in rows:
        demand[(ch, int(wd), int(hr))] += c
        by[(inbound, ch)] += c
        by[(outbound, ch)] += r
        notes[ch] += n
        follow[kind] += f
    aht = forecast.aht_from(dict(by), dict(notes), n_min)

    # 2. The partial hours [start, a) and [b, end): the contacts, straight (the customers' messages'
    # time index). A range without whole hours is all "partial".
    edges = (
        Q(created_at__gte=start, created_at__lt=a) | Q(created_at__gte=b, created_at__lt=end)
        if a < b
        else Q(created_at__gte=start, created_at__lt=end)
    )
    contacts = _team(
        Message.objects.filter(edges, direction=Direction.INBOUND, is_automatic=False),
        team_id,
        "case__team_id",
    )
    first_lead: datetime | None = None  # the first contact of the leading partial hour
    first_tail: datetime | None = None  # ... and of the rest
    for r in (
        contacts.annotate(
            wd=ExtractIsoWeekDay("created_at", tzinfo=tz), hr=ExtractHour("created_at", tzinfo=tz)
        )
        .values("channel", "case__kind", "wd", "hr")
        .annotate(
            n=Count("pk"),
            f=Count("pk", filter=Q(created_at__gt=F("case__created_at"))),
            first=Min("created_at"),
        )
        .order_by()
    ):
        demand[(r["channel"], int(r["wd"]), int(r["hr"]))] += r["n"]
        follow[r["case__kind"]] += r["f"]
        if r["first"] < a:
            first_lead = r["first"] if first_lead is None else min(first_lead, r["first"])
        else:
            first_tail = r["first"] if first_tail is None else min(first_tail, r["first"])
    rates = forecast.rates_from(dict(follow), forecast.case_days(team_id, start, end))
    if not local_hours:
        return forecast.demand(team_id, start, end, tz, weeks), aht, rates

    # The first contact: exact when it falls in the leading partial hour; of the rollup only its hour is
    # known, which settles "short history" unless that hour ends after a week past the start (then one
    # more read of that hour on the time index).
    first = first_lead
    first_hour = None
    if first is None:  # the first hour with a contact (the covering index, in hour order)
        first_hour = whole.filter(contacts__gt=0).order_by("hour").values_list("hour", flat=True).first()
    if first is None and first_hour is not None:
        first = first_hour
        if first_hour + HOUR > start + timedelta(days=7):
            hour_contacts = Message.objects.filter(
                direction=Direction.INBOUND,
                is_automatic=False,
                created_at__gte=first_hour,
                created_at__lt=first_hour + HOUR,
            )
            exact = _team(hour_contacts, team_id, "case__team_id").aggregate(m=Min("created_at"))["m"]
            first = exact or first_hour
    elif first is None:
        first = first_tail
    return forecast.demand_from(dict(demand), first, start, end, weeks), aht, rates
