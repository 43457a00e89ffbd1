"""Personal data of one customer on request (issue 10): export as JSON, and erasure.

Erasure anonymises the customer and every text that came from or is about them (messages, notes,
handoff summaries, next steps, task texts, survey comments, mail), deletes their attachments and
stored mail, and keeps every row that a figure counts: cases, case events, survey scores, costs.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from steward.accounts.models import User
from steward.core.errors import DomainError, NotPermitted

from .models import Customer
from .signals import personal_data_erasing

ERASED = "[erased]"
# Free-text keys in case event data; codes (statuses, follow-up reasons) and ids stay.
_EVENT_TEXT_KEYS = ("comment", "note", "reason", "to")


def may_handle_personal_data(user: object) -> bool:
    """Managers and administrators export and erase a customer's data."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "manages_cases", False))


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def personal_data_export(*, actor: User, customer: Customer) -> dict[str, Any]:
    """Everything Steward holds about one customer, JSON-ready (a fixed number of queries); audit logged."""
    from steward.audit.models import Action
    from steward.audit.services import audit_record
    from steward.cases.models import Attachment, Case, Commitment, Message, Note
    from steward.surveys.models import SurveyResponse

    if not may_handle_personal_data(actor):
        raise NotPermitted(_("Only a manager or an administrator may export personal data."))
    audit_record(Action.DATA_EXPORTED, actor=actor, target=customer)

    cases = list(Case.objects.filter(customer=customer).order_by("created_at", "id"))
    ids = [c.pk for c in cases]
    by_case: dict[int, dict[str, list[dict[str, Any]]]] = {
        pk: {"messages": [], "notes": [], "next_steps": [], "attachments": []} for pk in ids
    }
    for m in Message.objects.filter(case_id__in=ids).order_by("created_at", "id"):
        by_case[m.case_id]["messages"].append(
            {"direction": m.direction, "channel": m.channel, "at": _iso(m.created_at), "body": m.body}
        )
    for n in Note.objects.filter(case_id__in=ids).order_by("created_at", "id"):
        by_case[n.case_id]["notes"].append({"at": _iso(n.created_at), "body": n.body})
    for s in Commitment.objects.filter(case_id__in=ids).order_by("id"):
        by_case[s.case_id]["next_steps"].append(
            {"description": s.description, "due_at": _iso(s.due_at), "state": s.state}
        )
    for a in Attachment.objects.filter(case_id__in=ids).order_by("id"):
        by_case[a.case_id]["attachments"].append(
            {
                "name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "at": _iso(a.created_at),
            }
        )
    responses = SurveyResponse.objects.filter(Q(customer=customer) | Q(case_id__in=ids)).order_by("id")
    return {
        "exported_at": _iso(timezone.now()),
        "customer": {
            "id": customer.pk,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "organisation": customer.organisation,
            "language": customer.language,
            "created_at": _iso(customer.created_at),
            "acquired_on": _iso(customer.acquired_on),
            "churned_on": _iso(customer.churned_on),
        },
        "cases": [
            {
                "id": c.pk,
                "subject": c.subject,
                "kind": c.kind,
                "channel": c.channel,
                "status": c.status,
                "created_at": _iso(c.created_at),
                "closed_at": _iso(c.closed_at),
                "closure_note": c.closure_note,
                **by_case[c.pk],
            }
            for c in cases
        ],
        "survey_responses": [
            {
                "case": r.case_id,
                "answers": _response_answers(r),
                "comment": r.comment,
                "at": _iso(r.responded_at),
            }
            for r in responses
        ],
    }


def _response_answers(response: Any) -> dict[str, Any]:
    fields = (
        "kind",
        "csat",
        "ces",
        "nps",
        "solved",
        "explained_more_than_once",
        "knew_owner_and_next_step",
        "solved_first_contact",
    )
    return {f: getattr(response, f) for f in fields}


def _scrub_event_data(data: dict[str, Any]) -> dict[str, Any]:
    from steward.surveys.models import FollowUpReason

    out = dict(data)
    for key in _EVENT_TEXT_KEYS:
        value = out.get(key)
        if not isinstance(value, str) or not value:
            continue
        if key == "reason" and value in FollowUpReason.values:
            continue
        if key == "to" and "@" not in value:  # "to" is a status in most events, an address in some
            continue
        out[key] = ERASED
    return out


@transaction.atomic
def personal_data_erase(*, actor: User, customer: Customer) -> dict[str, int]:
    """Anonymise one customer for good. Returns what was changed, by kind (for the audit log)."""
    from steward.cases.models import (
        Attachment,
        Case,
        CaseEvent,
        Commitment,
        Handoff,
        Message,
        Note,
        SectorTask,
        WorkLog,
    )
    from steward.costs.models import Compensation
    from steward.mail.models import InboundMail
    from steward.notifications.models import OutboundMail
    from steward.portal.models import PortalLoginToken
    from steward.surveys.models import FollowUp, SurveyResponse

    if not may_handle_personal_data(actor):
        raise NotPermitted(_("Only a manager or an administrator may erase personal data."))
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.erased_at is not None:
        raise DomainError(_("This customer's personal data was already erased."))
    email = customer.email
    cases = Case.objects.filter(customer=customer)
    ids = list(cases.values_list("pk", flat=True))
    counts: dict[str, int] = {"cases": len(ids)}

    for att in Attachment.objects.filter(case_id__in=ids):
        if att.file:
            att.file.delete(save=False)
    counts["attachments"] = Attachment.objects.filter(case_id__in=ids).delete()[0]
    counts["messages"] = Message.objects.filter(case_id__in=ids).update(
        body=ERASED, body_html="", external_id=""
    )
    counts["notes"] = Note.objects.filter(case_id__in=ids).update(body=ERASED)
    personal_data_erasing.send(sender=Customer, case_ids=ids, erased=ERASED)  # before the texts change
    Handoff.objects.filter(case_id__in=ids).update(customer_need=ERASED, done_so_far=ERASED)
    Commitment.objects.filter(case_id__in=ids).update(description=ERASED, resolution_note="")
    SectorTask.objects.filter(case_id__in=ids).update(
        description=ERASED, completion_note="", return_reason=""
    )
    WorkLog.objects.filter(task__case_id__in=ids).update(note="")
    Compensation.objects.filter(case_id__in=ids).update(reason=ERASED)
    for event in CaseEvent.objects.filter(case_id__in=ids).exclude(data={}):
        scrubbed = _scrub_event_data(event.data)
        if scrubbed != event.data:
            CaseEvent.objects.filter(pk=event.pk).update(data=scrubbed)
    counts["survey_comments"] = SurveyResponse.objects.filter(
        Q(customer=customer) | Q(case_id__in=ids)
    ).update(comment="")
    FollowUp.objects.filter(customer=customer).update(resolution_note="")

    mails = InboundMail.objects.filter(
        Q(case_id__in=ids) | (Q(from_address__iexact=email) if email else Q(pk=None))
    )
    for mail in mails.exclude(raw=""):
        mail.raw.delete(save=False)
    counts["inbound_mail"] = mails.update(raw="", from_address="", from_name="", subject=ERASED)
    outbound = OutboundMail.objects.filter(
        Q(case_id__in=ids) | (Q(to__iexact=email) if email else Q(pk=None))
    )
    counts["outbound_mail"] = outbound.update(to="", subject=ERASED, text_body=ERASED, html_body="")
    PortalLoginToken.objects.filter(customer=customer).delete()

    cases.update(subject=ERASED, closure_note="")
    customer.name = f"{ERASED} #{customer.pk}"
    customer.email = ""
    customer.phone = ""
    customer.organisation = ""
    customer.erased_at = timezone.now()
    customer.save(update_fields=["name", "email", "phone", "organisation", "erased_at"])

    from steward.audit.models import Action
    from steward.audit.services import audit_record

    audit_record(Action.DATA_ERASED, actor=actor, target=customer, erased=counts)
    return counts
