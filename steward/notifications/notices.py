"""Which case events notify whom: the mapping from the case event log to notifications.

Reads only (the case, its message, handoff or next step); the outbox service turns each Notice into a
row. Loop safety lives here: an automatic message (an auto-reply, an out-of-office) notifies nobody,
so two auto-responders can never keep each other busy through Steward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from steward.accounts.models import User
from steward.accounts.selectors import user_is_away
from steward.cases.models import (
    Case,
    CaseEvent,
    Channel,
    Commitment,
    CommitmentState,
    EventKind,
    Handoff,
    Message,
    SectorTask,
)
from steward.core.compiled import compiled, standin

from .models import NotificationKind, RecipientKind

_LANGUAGES = {code for code, _name in settings.LANGUAGES}


def mail_language(code: str) -> str:
    """A language Steward has translations for; anything else gets the site's default language."""
    code = (code or "").lower()
    if code in _LANGUAGES:
        return code
    base = code.split("-")[0]
    return base if base in _LANGUAGES else settings.LANGUAGE_CODE


@dataclass(frozen=True)
class Recipient:
    kind: str
    address: str
    language: str
    name: str
    user: User | None = None


@dataclass
class Notice:
    kind: str
    recipient: Recipient
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hints:
    """What the service that recorded the event already holds, so the mapping need not read it again
    (issue 9: queries per write). `message`: the Message of a message event; `opening`: the event
    belongs to a case opened in this same transaction (its first message, no next step yet)."""

    message: Message | None = None
    opening: bool = False


NO_HINTS = Hints()


def customer_recipient(case: Case) -> Recipient | None:
    customer = case.customer
    if not customer.email:
        return None
    return Recipient(
        kind=RecipientKind.CUSTOMER,
        address=customer.email,
        language=mail_language(customer.language),
        name=customer.name,
    )


def user_recipient(user: User | None, *, actor: User | None = None) -> Recipient | None:
    """A staff member to tell, unless they cannot read mail here or did the thing themselves."""
    if user is None or not user.is_active or not user.email:
        return None
    if actor is not None and actor.pk == user.pk:
        return None
    return Recipient(
        kind=RecipientKind.USER,
        address=user.email,
        language=mail_language(user.language),
        name=user.display_name,
        user=user,
    )


def responsible_recipients(case: Case, *, at: Any, actor: User | None = None) -> list[Recipient]:
    """The owner, and the backup too while the owner is away (the backup is acting owner then)."""
    owner = case.owner
    people = [owner]
    if owner.backup_id and user_is_away(owner, at=at):
        people.append(owner.backup)  # type: ignore[arg-type]
    found = (user_recipient(p, actor=actor) for p in people)
    return [r for r in found if r is not None]


def _is_automatic(event: CaseEvent, message: Message | None = None) -> bool:
    return bool(event.data.get("automatic")) or bool(message and message.is_automatic)


def _message(event: CaseEvent, hints: Hints = NO_HINTS) -> Message | None:
    pk = event.data.get("message")
    known = hints.message
    if pk and known is not None and known.pk == pk and known.case_id == event.case_id:
        return known
    return Message.objects.filter(pk=pk, case_id=event.case_id).first() if pk else None


def _earlier_message(case_id: int, message_id: int) -> bool:
    """Whether the case has a message before this one (compiled once: every customer message asks)."""
    query = compiled(
        ("earlier_message",),
        lambda: Message.objects.filter(case_id=standin(0), pk__lt=standin(1)).values_list("pk")[:1],
    )
    return bool(query.rows({standin(0): case_id, standin(1): message_id}))


def _next_step(case: Case) -> Commitment | None:
    return case.commitments.filter(state=CommitmentState.OPEN).order_by("due_at", "id").first()


def _for_customer(case: Case, kind: str, **context: Any) -> list[Notice]:
    recipient = customer_recipient(case)
    return [Notice(kind, recipient, context)] if recipient else []


# ---------------------------------------------------------------- one function per event kind


def _opened(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    """Staff: the case was opened with you as owner by someone else (a colleague, or by mail)."""
    recipient = user_recipient(case.owner, actor=event.actor)
    if recipient is None:
        return []
    return [Notice(NotificationKind.ASSIGNED, recipient, {"opened_by": event.actor})]


def _message_in(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    message = _message(event, hints)
    if message is None or _is_automatic(event, message):
        return []
    # A case opened in this transaction: its message is the first, and no next step is promised yet.
    is_first = hints.opening or not _earlier_message(case.pk, message.pk)
    if is_first:
        # The message that opened the case: tell the customer who takes care of it.
        return _for_customer(
            case,
            NotificationKind.CASE_RECEIVED,
            message=message,
            next_step=None if hints.opening else _next_step(case),
            # On the phone or at the desk an adviser wrote the request down: "what you told us".
            spoken=case.channel in (Channel.PHONE, Channel.WALK_IN),
        )
    return [
        Notice(NotificationKind.CUSTOMER_WROTE, r, {"message": message})
        for r in responsible_recipients(case, at=event.at, actor=event.actor)
    ]


def _message_out(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    message = _message(event, hints)
    if message is None or _is_automatic(event, message):
        return []
    return _for_customer(case, NotificationKind.REPLY, message=message, author=message.author or case.owner)


def _handoff(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    handoff = (
        Handoff.objects.select_related("from_user", "to_user").filter(pk=event.data.get("handoff")).first()
    )
    if handoff is None:
        return []
    notices = _for_customer(case, NotificationKind.HANDOFF, owner=handoff.to_user)
    recipient = user_recipient(handoff.to_user, actor=event.actor)
    if recipient is not None:
        notices.append(Notice(NotificationKind.HANDED_OVER, recipient, {"handoff": handoff}))
    return notices


def _commitment_set(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    commitment = case.commitments.filter(pk=event.data.get("commitment")).first()
    if commitment is None:
        return []
    # A change of next step is recorded as "cancel the old one, promise a new one".
    changed = case.commitments.exclude(pk=commitment.pk).filter(state=CommitmentState.CANCELLED).exists()
    return _for_customer(case, NotificationKind.NEXT_STEP, commitment=commitment, changed=changed)


def _solution_proposed(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    message = _message(event, hints)
    author = (message.author if message else None) or case.owner
    return _for_customer(case, NotificationKind.SOLUTION_PROPOSED, message=message, author=author)


def _closed(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    return _for_customer(case, NotificationKind.CLOSED, confirmed=event.kind == EventKind.SOLUTION_CONFIRMED)


# ---------------------------------------------------------------- sector tasks


def _task(event: CaseEvent, case: Case) -> SectorTask | None:
    return (
        SectorTask.objects.select_related("sector", "task_kind", "assignee")
        .filter(pk=event.data.get("task"), case_id=case.pk)
        .first()
    )


def _task_created(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    """Customer: "we asked <sector> for this step, expected by <date>".

    Only when it changes what they can expect: another open step of the same sector expected the same
    day already says it. The task's description is written for the sector and may be internal, so the
    mail names the kind of task (a configured, customer-safe label) and never quotes the description.
    Taking a task or logging work changes nothing for the customer and sends no mail.
    """
    task = _task(event, case)
    if task is None or not task.is_open:
        return []
    expected = timezone.localtime(task.due_at).date()
    siblings = case.sector_tasks.open().filter(sector_id=task.sector_id).exclude(pk=task.pk)
    if any(timezone.localtime(due).date() == expected for due in siblings.values_list("due_at", flat=True)):
        return []
    return _for_customer(case, NotificationKind.SECTOR_STEP, task=task, expected=expected)


def _sector_members(task: SectorTask) -> list[User]:
    members = list(User.objects.filter(sector_id=task.sector_id, is_active=True).order_by("pk"))
    if task.assignee is not None and all(m.pk != task.assignee_id for m in members):
        members.append(task.assignee)  # taken by someone who has moved to another sector since
    return members


def _task_near_breach(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
    """Staff: the sector's members and the assignee, while the task can still make its target."""
    task = _task(event, case)
    if task is None or not task.is_open:
        return []
    found = (user_recipient(u, actor=event.actor) for u in _sector_members(task))
    return [Notice(NotificationKind.TASK_NEAR_BREACH, r, {"task": task}) for r in found if r is not None]


def _task_ended(kind: str) -> Callable[[CaseEvent, Case, Hints], list[Notice]]:
    """Staff: the case owner (and the acting backup) hears the sector's result or its reason."""

    def handler(event: CaseEvent, case: Case, hints: Hints) -> list[Notice]:
        task = _task(event, case)
        if task is None:
            return []
        context = {"task": task, "by": event.actor}
        return [
            Notice(kind, r, context) for r in responsible_recipients(case, at=event.at, actor=event.actor)
        ]

    return handler


_HANDLERS: dict[str, Callable[[CaseEvent, Case, Hints], list[Notice]]] = {
    EventKind.OPENED: _opened,
    EventKind.MESSAGE_IN: _message_in,
    EventKind.MESSAGE_OUT: _message_out,
    EventKind.HANDOFF: _handoff,
    EventKind.COMMITMENT_SET: _commitment_set,
    EventKind.SOLUTION_PROPOSED: _solution_proposed,
    EventKind.SOLUTION_CONFIRMED: _closed,
    EventKind.CLOSED_UNCONFIRMED: _closed,
    EventKind.TASK_CREATED: _task_created,
    EventKind.TASK_NEAR_BREACH: _task_near_breach,
    EventKind.TASK_RETURNED: _task_ended(NotificationKind.TASK_RETURNED),
    EventKind.TASK_COMPLETED: _task_ended(NotificationKind.TASK_COMPLETED),
}


def notifies(event: CaseEvent) -> bool:
    """Whether the event's kind can notify anyone at all (no read needed to say no)."""
    return event.kind in _HANDLERS and not _is_automatic(event)


def notices_for_event(event: CaseEvent, case: Case, hints: Hints = NO_HINTS) -> list[Notice]:
    """The notifications one case event causes; empty for events nobody is told about."""
    handler = _HANDLERS.get(event.kind)
    if handler is None or _is_automatic(event):
        return []
    return handler(event, case, hints)


def due_step_notices(commitment: Commitment, *, at: Any) -> list[Notice]:
    """Staff: a promised next step is due within the hour, or overdue."""
    case = commitment.case
    return [
        Notice(
            NotificationKind.NEXT_STEP_DUE, r, {"commitment": commitment, "overdue": commitment.due_at <= at}
        )
        for r in responsible_recipients(case, at=at)
    ]
