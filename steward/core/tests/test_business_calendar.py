"""Business time: weekends, holidays, starts outside hours, UTC and a zone with daylight saving time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured

from steward.core.business_calendar import (
    BusinessCalendar,
    add_business_minutes,
    business_minutes_between,
    calendar_from_settings,
    parse_days,
)

MON_FRI = frozenset(range(5))


def cal(tz: str = "UTC", holidays: tuple[date, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar(time(9), time(17), MON_FRI, frozenset(holidays), ZoneInfo(tz))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


# 2026-11-20 is a Friday, 2026-11-23 a Monday.
@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (utc(2026, 11, 23, 10, 0), 60, utc(2026, 11, 23, 11, 0)),  # inside one day
        (utc(2026, 11, 23, 16, 30), 60, utc(2026, 11, 24, 9, 30)),  # runs over into the next day
        (utc(2026, 11, 20, 16, 30), 60, utc(2026, 11, 23, 9, 30)),  # Friday to Monday over the weekend
        (utc(2026, 11, 21, 12, 0), 30, utc(2026, 11, 23, 9, 30)),  # starts on a Saturday
        (utc(2026, 11, 23, 6, 0), 30, utc(2026, 11, 23, 9, 30)),  # starts before opening
        (utc(2026, 11, 23, 18, 0), 30, utc(2026, 11, 24, 9, 30)),  # starts after closing
        (utc(2026, 11, 23, 9, 0), 480, utc(2026, 11, 23, 17, 0)),  # exactly one working day ends at closing
        (utc(2026, 11, 23, 9, 0), 481, utc(2026, 11, 24, 9, 1)),
        (utc(2026, 11, 23, 9, 0), 5 * 480, utc(2026, 11, 27, 17, 0)),  # a working week
        (utc(2026, 11, 21, 12, 0), 0, utc(2026, 11, 21, 12, 0)),  # zero minutes: the start itself
    ],
)
def test_add_business_minutes_in_utc(start, minutes, expected):
    assert add_business_minutes(start, minutes, cal()) == expected


def test_holidays_are_skipped_like_weekends():
    tuesday = date(2026, 11, 24)
    calendar = cal(holidays=(tuesday,))
    assert add_business_minutes(utc(2026, 11, 23, 16, 0), 120, calendar) == utc(2026, 11, 25, 10, 0)
    assert business_minutes_between(utc(2026, 11, 23, 9), utc(2026, 11, 26, 9), calendar) == 2 * 480


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (utc(2026, 11, 23, 10), utc(2026, 11, 23, 11, 30), 90),
        (utc(2026, 11, 20, 16), utc(2026, 11, 23, 10), 120),  # Friday 16:00 to Monday 10:00
        (utc(2026, 11, 21, 8), utc(2026, 11, 22, 20), 0),  # a whole weekend
        (utc(2026, 11, 23, 7), utc(2026, 11, 23, 20), 480),  # before opening to after closing
        (utc(2026, 11, 23, 11), utc(2026, 11, 23, 10), -60),  # reversed: negative
        (utc(2026, 11, 23, 10, 0, 59), utc(2026, 11, 23, 10, 2), 1),  # whole minutes only
    ],
)
def test_business_minutes_between_in_utc(a, b, expected):
    assert business_minutes_between(a, b, cal()) == expected


def test_add_and_between_agree():
    calendar = cal(holidays=(date(2026, 12, 25),))
    start = utc(2026, 12, 23, 15, 17)
    for minutes in (1, 59, 480, 777, 2000):
        assert (
            business_minutes_between(start, add_business_minutes(start, minutes, calendar), calendar)
            == minutes
        )


def test_hours_are_local_in_a_non_utc_zone():
    bangkok = cal("Asia/Bangkok")  # UTC+7, no daylight saving time
    # Monday 16:30 in Bangkok is 09:30 UTC; one hour later runs into Tuesday 09:30 Bangkok = 02:30 UTC.
    assert add_business_minutes(utc(2026, 11, 23, 9, 30), 60, bangkok) == utc(2026, 11, 24, 2, 30)
    # The answer keeps the caller's time zone.
    local = datetime(2026, 11, 23, 16, 30, tzinfo=ZoneInfo("Asia/Bangkok"))
    assert add_business_minutes(local, 60, bangkok).utcoffset() == local.utcoffset()


def test_daylight_saving_change_counts_real_hours():
    madrid = cal("Europe/Madrid")
    # Clocks go back on Sunday 2026-10-25: Friday 09:00 is UTC+2, Monday 09:00 is UTC+1.
    friday_16_local = utc(2026, 10, 23, 14, 0)
    assert add_business_minutes(friday_16_local, 120, madrid) == utc(2026, 10, 26, 9, 0)  # Mon 10:00 CET
    assert business_minutes_between(friday_16_local, utc(2026, 10, 26, 9, 0), madrid) == 120


def test_naive_datetimes_and_negative_minutes_are_refused():
    with pytest.raises(ValueError):
        add_business_minutes(datetime(2026, 11, 23, 10), 5, cal())
    with pytest.raises(ValueError):
        add_business_minutes(utc(2026, 11, 23, 10), -5, cal())


def test_misconfigured_calendars_are_refused(settings):
    with pytest.raises(ImproperlyConfigured):
        BusinessCalendar(time(17), time(9), MON_FRI, frozenset(), ZoneInfo("UTC"))
    with pytest.raises(ImproperlyConfigured):
        parse_days(["monday", "funday"])
    settings.STEWARD_BUSINESS_HOURS = "nine to five"
    with pytest.raises(ImproperlyConfigured):
        calendar_from_settings(holidays=())


def test_settings_build_the_calendar(settings):
    settings.STEWARD_BUSINESS_HOURS = "08:30-12:00"
    settings.STEWARD_BUSINESS_DAYS = ["sat", "Sunday"]
    settings.TIME_ZONE = "Asia/Bangkok"
    calendar = calendar_from_settings(holidays=[date(2026, 11, 22)])
    assert (calendar.opens, calendar.closes) == (time(8, 30), time(12))
    assert calendar.weekdays == frozenset({5, 6}) and calendar.tz.key == "Asia/Bangkok"
    assert not calendar.is_working_day(date(2026, 11, 22)) and calendar.is_working_day(date(2026, 11, 21))


@pytest.mark.django_db
def test_holidays_come_from_the_table(settings):
    from steward.sectors.models import Holiday

    settings.TIME_ZONE = "UTC"
    Holiday.objects.create(date=date(2026, 11, 24), name="Company day")
    assert add_business_minutes(utc(2026, 11, 23, 16, 0), 120) == utc(2026, 11, 25, 10, 0)


def test_business_seconds_keep_the_seconds_and_the_sign():
    from steward.core.business_calendar import business_seconds_between

    a, b = utc(2026, 11, 20, 16, 59, 30), utc(2026, 11, 23, 9, 0, 45)  # Fri 16:59:30 → Mon 09:00:45
    assert business_seconds_between(a, b, cal()) == 75
    assert business_seconds_between(b, a, cal()) == -75
    assert business_minutes_between(a, b, cal()) == 1
