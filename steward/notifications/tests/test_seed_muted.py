"""The demo seed loads months of history through the services; none of it may mail anyone."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from steward.cases.models import CaseEvent
from steward.notifications.models import OutboundMail


@pytest.mark.django_db
def test_the_demo_seed_writes_no_mail(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", cases=12, customers=4, verbosity=0)
    assert CaseEvent.objects.count() > 12
    assert OutboundMail.objects.count() == 0
