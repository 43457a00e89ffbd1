"""Clock access for services and views. Pure functions take `now` as an argument instead."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
