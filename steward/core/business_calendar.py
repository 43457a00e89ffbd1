"""Business time: working hours on working days, minus holidays, in one time zone.

Sector task targets are internal service levels counted in business minutes (a task handed over on
Friday at 16:30 with a 60-minute target is due on Monday at 09:30). The functions are pure given a
`BusinessCalendar`; without one they read the configured calendar (`calendar_from_settings()`:
settings and the Holiday table). A team may keep its own time zone, days and hours
(`calendar_for_team`): case durations in business time (metrics.md §3.8) use the owning team's calendar,
each blank team field falling back to the setting. Holidays are the organisation's (the Holiday table),
counted on the team's local dates. Arithmetic runs in UTC on each day's window, so days that change to
or from daylight saving time count the hours that really pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from steward.accounts.models import Team

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
# A calendar whose next working minute lies further than this is misconfigured (e.g. every day a holiday).
MAX_SEARCH_DAYS = 3 * 366


@dataclass(frozen=True)
class BusinessCalendar:
    opens: time
    closes: time
    weekdays: frozenset[int]  # Monday = 0
    holidays: frozenset[date]
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ImproperlyConfigured("Business hours must open before they close (e.g. 09:00-17:00).")
        if not self.weekdays:
            raise ImproperlyConfigured("The business calendar needs at least one working day.")

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The working hours of a day, as UTC instants."""
        start = datetime.combine(day, self.opens, tzinfo=self.tz).astimezone(UTC)
        end = datetime.combine(day, self.closes, tzinfo=self.tz).astimezone(UTC)
        return start, end

    def windows_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        for offset in range(MAX_SEARCH_DAYS):
            current = day + timedelta(days=offset)
            if self.is_working_day(current):
                yield self.window(current)
        raise ImproperlyConfigured("The business calendar has no working day within three years.")


def parse_hours(text: str) -> tuple[time, time]:
    try:
        opens, closes = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"STEWARD_BUSINESS_HOURS must look like 09:00-17:00, not {text!r}."
        ) from exc
    return opens, closes


def parse_days(names: Iterable[str]) -> frozenset[int]:
    try:
        return frozenset(WEEKDAYS[name.strip().lower()[:3]] for name in names)
    except KeyError as exc:
        raise ImproperlyConfigured(f"Unknown weekday in STEWARD_BUSINESS_DAYS: {exc.args[0]!r}.") from exc


def calendar_from_settings(holidays: Iterable[date] | None = None) -> BusinessCalendar:
    """The configured calendar; holidays come from the Holiday table unless given."""
    opens, closes = parse_hours(settings.STEWARD_BUSINESS_HOURS)
    return BusinessCalendar(
        opens=opens,
        closes=closes,
        weekdays=parse_days(settings.STEWARD_BUSINESS_DAYS),
        holidays=_holidays(holidays),
        tz=ZoneInfo(settings.TIME_ZONE),
    )


def _holidays(holidays: Iterable[date] | None) -> frozenset[date]:
    if holidays is None:
        from steward.sectors.models import Holiday

        holidays = Holiday.objects.values_list("date", flat=True)
    return frozenset(holidays)


def calendar_for_team(team: Team | None, holidays: Iterable[date] | None = None) -> BusinessCalendar:
    """The team's own calendar: its time zone, working days and hours, each blank one from settings.

    No team gives the configured calendar. Holidays come from the Holiday table unless given (one query).
    """
    if team is None:
        return calendar_from_settings(holidays)
    opens, closes = parse_hours(team.business_hours or settings.STEWARD_BUSINESS_HOURS)
    days = team.business_days.split(",") if team.business_days else settings.STEWARD_BUSINESS_DAYS
    return BusinessCalendar(
        opens=opens,
        closes=closes,
        weekdays=parse_days(days),
        holidays=_holidays(holidays),
        tz=ZoneInfo(team.time_zone or settings.TIME_ZONE),
    )


# Validators for the team's calendar fields (forms and the admin show these messages).


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("Unknown time zone %(zone)s: use an IANA name such as Asia/Bangkok."),
            params={"zone": value},
            code="time_zone",
        ) from exc


def validate_business_hours(value: str) -> None:
    try:
        opens, closes = parse_hours(value)
    except ImproperlyConfigured as exc:
        raise ValidationError(
            _("Write the hours as HH:MM-HH:MM, for example 09:00-17:00."), code="business_hours"
        ) from exc
    if opens >= closes:
        raise ValidationError(_("The working day must open before it closes."), code="business_hours")


def validate_business_days(value: str) -> None:
    try:
        days = parse_days(value.split(","))
    except ImproperlyConfigured as exc:
        raise ValidationError(
            _("List working days as mon,tue,wed,thu,fri (any of mon to sun)."), code="business_days"
        ) from exc
    if not days:
        raise ValidationError(_("Give at least one working day."), code="business_days")


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Business time needs timezone-aware datetimes.")


def add_business_minutes(start: datetime, minutes: int, calendar: BusinessCalendar | None = None) -> datetime:
    """The instant `minutes` business minutes after `start` (which may lie outside business hours).

    Zero minutes gives `start` itself. The answer is in `start`'s time zone. Without a calendar the
    configured one is read (one query for the holidays).
    """
    _require_aware(start)
    calendar = calendar or calendar_from_settings()
    if minutes < 0:
        raise ValueError("minutes must be 0 or more")
    if minutes == 0:
        return start
    cursor = start.astimezone(UTC)
    remaining = timedelta(minutes=minutes)
    for opens, closes in calendar.windows_from(start.astimezone(calendar.tz).date()):
        if closes <= cursor:
            continue
        cursor = max(cursor, opens)
        available = closes - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(start.tzinfo)
        remaining -= available
    raise AssertionError("unreachable: windows_from raises when it runs out")  # pragma: no cover


def business_minutes_between(a: datetime, b: datetime, calendar: BusinessCalendar | None = None) -> int:
    """Whole business minutes from `a` to `b`; negative when `b` comes before `a`."""
    calendar = calendar or calendar_from_settings()
    if b < a:
        return -business_minutes_between(b, a, calendar)
    return business_seconds_between(a, b, calendar) // 60


def business_seconds_between(a: datetime, b: datetime, calendar: BusinessCalendar | None = None) -> int:
    """Whole business seconds from `a` to `b`; negative when `b` comes before `a`."""
    calendar = calendar or calendar_from_settings()
    _require_aware(a)
    _require_aware(b)
    if b < a:
        return -business_seconds_between(b, a, calendar)
    a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
    day, last = a.astimezone(calendar.tz).date(), b.astimezone(calendar.tz).date()
    total = timedelta(0)
    while day <= last:
        if calendar.is_working_day(day):
            opens, closes = calendar.window(day)
            overlap = min(closes, b_utc) - max(opens, a_utc)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds())
