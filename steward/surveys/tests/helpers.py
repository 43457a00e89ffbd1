"""Set-up for survey tests: cases closed through the case services, surveys sent through ours."""

from __future__ import annotations

import re
from datetime import datetime

from steward.accounts.models import User
from steward.cases.models import Case
from steward.cases.services import (
    case_close_unconfirmed,
    case_confirm_solution,
    case_open,
    case_propose_solution,
)
from steward.customers.models import Customer
from steward.notifications.models import OutboundMail
from steward.surveys.models import Survey
from steward.surveys.services import survey_send, surveys_muted

TOKEN_IN_URL = re.compile(r"/surveys/s/([A-Za-z0-9_-]+)/")


def confirmed_case(adviser: User, customer: Customer, *, subject: str = "Router keeps rebooting") -> Case:
    """A case the customer confirmed, without the survey (muted: the test sends it)."""
    with surveys_muted():
        case = case_open(
            actor=adviser, customer=customer, subject=subject, description="It reboots.", owner=adviser
        )
        case_propose_solution(actor=adviser, case=case, solution="Firmware updated; the reboots stop.")
        return case_confirm_solution(case=case)


def unconfirmed_case(adviser: User, manager: User, customer: Customer) -> Case:
    with surveys_muted():
        case = case_open(
            actor=adviser, customer=customer, subject="Bill is wrong", description="Too high.", owner=adviser
        )
        return case_close_unconfirmed(
            actor=manager, case=case, reason="Customer never answered our proposal."
        )


def send(case: Case, *, at: datetime | None = None) -> tuple[Survey, str]:
    """Send the case survey and read the raw token back from the mail, as the customer would."""
    survey = survey_send(case=case, at=at)
    assert survey is not None
    mail = OutboundMail.objects.filter(case=case, text_body__contains="/surveys/s/").order_by("-id").first()
    assert mail is not None
    match = TOKEN_IN_URL.search(mail.text_body)
    assert match is not None, mail.text_body
    return survey, match.group(1)
