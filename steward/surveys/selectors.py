"""Reads of the surveys app. Other apps use `responses_in` (the contract) for their figures."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from .models import SurveyResponse


def responses_in(start: datetime, end: datetime) -> QuerySet[SurveyResponse]:
    """Responses answered in [start, end): case and relationship alike (filter on `kind`)."""
    return SurveyResponse.objects.filter(responded_at__gte=start, responded_at__lt=end)
