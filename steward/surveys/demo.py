"""Demo surveys for seed_demo: sent and answered through the services, at believable times.

Run inside `surveys_muted()`: history writes no mail and fires no webhook.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q

from steward.accounts.models import Role, User
from steward.cases.models import Case, Closure, EventKind, Status
from steward.customers.models import Customer

from .models import FollowUp, FollowUpState, NpsCampaign
from .services import follow_up_complete, nps_survey_send, survey_answer, survey_send

RESPONSE_RATE = 0.45
COMMENTS_GOOD = ["Quick and friendly, thank you.", "Solved at once.", "Clear next steps, great."]
COMMENTS_BAD = [
    "I had to explain everything again.",
    "Nobody told me what would happen next.",
    "Took far too long.",
]
DONE_NOTES = [
    "Called the customer, apologised and credited one month.",
    "Called back; the replacement arrived, the customer is happy now.",
    "Explained the delay and agreed a new delivery date.",
]


def _answers(rng: random.Random, case: Case) -> dict[str, object]:
    """Scores that follow what happened: handoffs, reopens and unconfirmed closures lower them."""
    trouble = min(
        3,
        getattr(case, "n_handoffs", 0)
        + case.reopen_count
        + (2 if case.closure == Closure.UNCONFIRMED else 0),
    )
    csat = max(1, min(5, round(rng.gauss(4.5 - 0.8 * trouble, 0.8))))
    answers: dict[str, object] = {
        "csat": csat,
        "ces": max(1, min(7, round(rng.gauss(6.2 - 1.1 * trouble, 1.0)))),
        "explained_more_than_once": rng.random() < 0.1 + 0.25 * trouble,
        "knew_owner_and_next_step": rng.random() < 0.9 - 0.15 * trouble,
        "solved_first_contact": trouble == 0 and rng.random() < 0.6,
    }
    if case.closure == Closure.UNCONFIRMED:
        answers["solved"] = rng.random() < 0.5
    if rng.random() < 0.3:
        answers["comment"] = rng.choice(COMMENTS_GOOD if csat >= 4 else COMMENTS_BAD)
    return answers


def seed_surveys(*, rng: random.Random, now: datetime, manager: User | None = None) -> int:
    """Case surveys for closed demo cases, some answers, follow-ups mostly done; one NPS campaign."""
    manager = manager or User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk").first()
    cases = list(
        Case.objects.filter(status=Status.CLOSED, closed_at__lt=now - timedelta(hours=1))
        .annotate(n_handoffs=Count("events", filter=Q(events__kind=EventKind.HANDOFF)))
        .select_related("customer", "owner")
        .order_by("closed_at", "pk")
    )
    answered = 0
    for start in range(0, len(cases), 100):
        with transaction.atomic():
            for case in cases[start : start + 100]:
                assert case.closed_at is not None
                sent_at = case.closed_at + timedelta(minutes=rng.randint(1, 10))
                survey = survey_send(case=case, at=sent_at)
                if survey is None or rng.random() > RESPONSE_RATE:
                    continue
                at = sent_at + timedelta(hours=rng.uniform(0.2, 72))
                if at >= now:
                    continue
                survey_answer(survey=survey, answers=_answers(rng, case), at=at)
                answered += 1
    _nps_campaign(rng, now, manager)
    _close_old_follow_ups(rng, now, manager)
    return answered


def _close_old_follow_ups(rng: random.Random, now: datetime, manager: User | None) -> None:
    if manager is None:
        return
    old = FollowUp.objects.filter(state=FollowUpState.OPEN, created_at__lt=now - timedelta(days=5))
    for follow_up in old.order_by("pk"):
        done_at = follow_up.created_at + timedelta(hours=rng.uniform(2, 60))
        follow_up_complete(
            actor=manager, follow_up=follow_up, note=rng.choice(DONE_NOTES), at=min(done_at, now)
        )


def _nps_campaign(rng: random.Random, now: datetime, manager: User | None) -> None:
    if manager is None:
        return
    at = now - timedelta(days=45)
    campaign = NpsCampaign.objects.create(
        created_by=manager, created_at=at, segment={"closed_within_days": 365}, state="done", finished_at=at
    )
    sent = skipped = 0
    customers = Customer.objects.exclude(email="").order_by("pk")
    for customer in customers:
        with transaction.atomic():
            survey = nps_survey_send(customer=customer, campaign=campaign, actor=manager, at=at)
            if survey is None:
                skipped += 1
                continue
            sent += 1
            if rng.random() < 0.4:
                score = max(0, min(10, round(rng.gauss(8, 2))))
                survey_answer(
                    survey=survey, answers={"nps": score}, at=at + timedelta(hours=rng.uniform(1, 96))
                )
    NpsCampaign.objects.filter(pk=campaign.pk).update(matched=sent + skipped, sent=sent, skipped=skipped)
