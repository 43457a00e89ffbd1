"""Whatever a customer or adviser types, the mail about it can be built and sent: no header breaks."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.cases.services import case_open
from steward.mail.identity import case_number_from_subject
from steward.notifications.models import NotificationKind, OutboundMail
from steward.notifications.services import build_email
from steward.testing import Personas

pytestmark = pytest.mark.django_db

# Any printable or control text a form or a parsed mail can carry (PostgreSQL refuses NUL anywhere).
typed = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    min_size=1,
    max_size=400,
).filter(lambda s: s.strip())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=typed, body=typed)
def test_any_subject_and_text_make_a_well_formed_mail(staff: Personas, subject: str, body: str) -> None:
    case = case_open(
        actor=staff.manager, customer=staff.customer, subject=subject, description=body, owner=staff.adviser
    )
    for row in OutboundMail.objects.filter(case=case):
        assert "\n" not in row.subject and "\r" not in row.subject
        raw = build_email(row).message().as_bytes()
        parsed = message_from_bytes(raw, policy=default_policy)
        assert case_number_from_subject(str(parsed["Subject"])) == case.number
        assert parsed["Message-ID"].strip() == row.message_id
    assert OutboundMail.objects.filter(case=case, kind=NotificationKind.CASE_RECEIVED).exists()
