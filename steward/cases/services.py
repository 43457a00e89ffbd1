"""Every state change of a case: one function each, each appending to the case event log.

Views, the API, admin actions, commands, tasks and the demo seed all call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from steward.accounts.models import User
from steward.core import timeutil
from steward.core.business_calendar import calendar_for_team
from steward.core.compiled import (
    compiled,
    insert,
    standin,
    text_standin,
    time_standin,
    update_and_insert,
)
from steward.core.errors import DomainError, NotPermitted, StaleVersion
from steward.customers.models import Customer
from steward.decisions.contact_hours import count as count_contact
from steward.decisions.contact_hours import count_statement
from steward.decisions.contact_hours import move_case as move_case_contacts

from . import durations
from .attachments import clean_filename, validate_uploads
from .models import (
    MANUAL_STATUS_CHOICES,
    Attachment,
    Case,
    CaseEvent,
    Category,
    Channel,
    Closure,
    Commitment,
    CommitmentState,
    Direction,
    EventKind,
    Handoff,
    Kind,
    Message,
    Note,
    Priority,
    Status,
)
from .opening import insert_opening
from .permissions import can_act, can_note, can_own_cases
from .signals import case_event_recorded
from .summaries import summary_problem

# The customer confirms through the portal or the link in the e-mail; staff record a confirmation the
# customer gave them directly (a reply by e-mail is a new message, which reopens the case instead).
CUSTOMER_CONFIRMATION_CHANNELS = (Channel.PORTAL, Channel.EMAIL)
STAFF_CONFIRMATION_CHANNELS = (Channel.PHONE, Channel.WALK_IN, Channel.CHAT)
CONFIRMATION_CHANNELS = CUSTOMER_CONFIRMATION_CHANNELS + STAFF_CONFIRMATION_CHANNELS


def follow_up_window() -> timedelta:
    return timedelta(days=settings.STEWARD_FOLLOW_UP_WINDOW_DAYS)


# ---------------------------------------------------------------- internals


def _record(
    case: Case,
    *,
    kind: str,
    actor: User | None,
    at: datetime,
    data: dict[str, Any] | None = None,
    fields: Iterable[str] = (),
    sector_id: int | None = None,
    message: Message | None = None,
) -> CaseEvent:
    """Save the changed `fields` of a locked case, bump its version and append the event.

    The event's sector is the actor's, unless `sector_id` names another one: a sector task's events
    belong to the task's sector whoever records them (the case owner hands over, cancels).
    `message`: the Message a message event is about, handed to the receivers so they need not read it.
    """
    case.version += 1
    case.updated_at = at
    event = CaseEvent(
        case=case,
        kind=kind,
        at=at,
        actor=actor,
        sector_id=sector_id if sector_id is not None else getattr(actor, "sector_id", None),
        version=case.version,
        data=data or {},
    )
    # One statement, compiled once (steward.core.compiled; issue 9), writing what save() and create()
    # would: the case's new version and its event.
    update_and_insert(case, [*fields, "version", "updated_at"], event)
    case_event_recorded.send(sender=CaseEvent, event=event, message=message)
    return event


# The caller's related rows _lock may keep (the ones the services and notifications read).
_LOCK_REUSED = ("owner", "team", "customer", "category", "follow_up_of")


def _lock(case: Case) -> Case:
    """Reload the case under a row lock so concurrent actions serialise.

    The lock is taken on the case row alone. Locking through a join is wrong on PostgreSQL: after
    waiting for a concurrent handoff it re-checks the join against the old owner row and returns no
    case at all. The locked row comes back whole (issue 9: one query, where a lock and a second read
    were two); the owner (with its backup), team, customer... the caller read already are kept when the
    locked row still points at the same ones (a concurrent handoff changes `owner_id`: then the owner
    is read again, as is anything the caller did not read).
    """
    # Both reads compiled once per process (steward.core.compiled): 0.8 ms of CPU each through the ORM.
    locked = compiled(("case_lock",), lambda: Case.objects.select_for_update().filter(pk=standin(0))).first(
        {standin(0): case.pk}
    )
    if locked is None:
        raise Case.DoesNotExist("Case matching query does not exist.")
    for name in _LOCK_REUSED:
        field: Any = Case._meta.get_field(name)
        if field.is_cached(case) and getattr(case, field.attname) == getattr(locked, field.attname):
            field.set_cached_value(locked, field.get_cached_value(case))
    if not Case.owner.field.is_cached(locked):
        locked.owner = compiled(
            ("case_lock_owner",), lambda: User.objects.select_related("backup").filter(pk=standin(0))
        ).first({standin(0): locked.owner_id})
    return locked


# Sector work in progress that changes nothing an adviser's open form depends on: a reply drafted while
# billing takes the task or logs minutes is not stale. (A task completed or returned still is: the
# adviser should read the result before answering the customer.)
# Survey events (sent, answered, follow-up) change nothing an adviser's form depends on either.
QUIET_EVENT_KINDS = (
    EventKind.TASK_TAKEN,
    EventKind.TASK_WORK_LOGGED,
    EventKind.TASK_NEAR_BREACH,
    EventKind.SURVEY_SENT,
    EventKind.SURVEY_ANSWERED,
    EventKind.SURVEY_FOLLOW_UP,
    EventKind.SURVEY_FOLLOW_UP_DONE,
)


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is None or expected_version == case.version:
        return
    changes = list(
        CaseEvent.objects.filter(case=case, version__gt=expected_version)
        .exclude(kind__in=QUIET_EVENT_KINDS)
        .select_related("actor")
        .order_by("version")
    )
    if not changes and expected_version < case.version:
        return
    raise StaleVersion(
        _("This case changed after you opened it. Read what changed, then try again."),
        changes=[_describe(e) for e in changes],
        current_version=case.version,
    )


def _describe(event: CaseEvent) -> str:
    if event.actor:
        who = event.actor.display_name
    elif event.kind == EventKind.TASK_NEAR_BREACH:
        who = "Steward"  # the periodic check, not a person
    else:
        who = _("the customer")
    return f"{event.at:%Y-%m-%d %H:%M} · {event.get_kind_display()} · {who}"


def _require_act(actor: User, case: Case, at: datetime) -> None:
    if not can_act(actor, case, at=at):
        raise NotPermitted(
            _("Only the case owner, the backup while the owner is away, or a manager may do this.")
        )


def _clean_text(text: str, *, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError(message, field=field)
    return text


def _store_attachments(
    case: Case,
    uploads: Sequence[UploadedFile],
    *,
    actor: User | None,
    at: datetime,
    message: Message | None = None,
    note: Note | None = None,
) -> list[Attachment]:
    types = validate_uploads(uploads)  # validate all (and their total) before storing any
    stored = []
    for upload, content_type in zip(uploads, types, strict=True):
        att = Attachment(
            case=case,
            message=message,
            note=note,
            original_name=clean_filename(upload.name or ""),
            content_type=content_type,
            size=upload.size or 0,
            uploaded_by=actor,
            created_at=at,
        )
        att.file.save(att.original_name, upload, save=False)
        att.save()
        stored.append(att)
    return stored


def _add_inbound(
    case: Case,
    *,
    body: str,
    channel: str,
    at: datetime,
    actor: User | None,
    body_html: str = "",
    is_automatic: bool = False,
    external_id: str = "",
    attachments: Sequence[UploadedFile] = (),
    uploader: User | None = None,
) -> Message:
    """A customer's message on a locked case: the message, its event and its files."""
    message = Message(
        case=case,
        direction=Direction.INBOUND,
        channel=channel,
        body=body,
        body_html=body_html,
        is_automatic=is_automatic,
        external_id=external_id,
        created_at=at,
    )
    insert(message)
    _record(
        case,
        kind=EventKind.MESSAGE_IN,
        actor=actor,
        at=at,
        data={"message": message.pk, "automatic": is_automatic},
        message=message,
    )
    if not is_automatic:
        count_contact(
            team_id=case.team_id,
            at=at,
            channel=channel,
            kind=case.kind,
            contacts=1,
            follow_ups=int(at > case.created_at),
        )
    if attachments:
        _store_attachments(case, attachments, actor=uploader, at=at, message=message)
    return message


def _refuse_if_closed_too_long(case: Case, at: datetime) -> None:
    """A case closed longer than the follow-up window stays closed; a new contact opens a follow-up."""
    if case.status == Status.CLOSED and case.closed_at and at - case.closed_at > follow_up_window():
        raise DomainError(
            _("This case was closed more than %(days)d days ago; open a follow-up case instead.")
            % {"days": follow_up_window().days},
            field="case",
            code="closed_too_long",
        )


def _reopen(case: Case, *, actor: User | None, at: datetime, reason: str) -> None:
    case.status = Status.REOPENED
    case.reopen_count += 1
    case.closed_at = None
    case.closure = ""
    case.closure_note = ""
    for name in durations.CLOSURE_FIELDS:  # open again: no full resolution or wait until it closes again
        setattr(case, name, None)
    _record(
        case,
        kind=EventKind.REOPENED,
        actor=actor,
        at=at,
        data={"reason": reason},
        fields=["status", "reopen_count", "closed_at", "closure", "closure_note", *durations.CLOSURE_FIELDS],
    )


def _set_span(case: Case, names: tuple[str, str], value: durations.Span | None) -> list[str]:
    setattr(case, names[0], value.seconds if value else None)
    setattr(case, names[1], value.business_seconds if value else None)
    return list(names)


def _first_response(case: Case, at: datetime) -> list[str]:
    """The first human public reply: stamp it and, for a case the customer opened, its response time."""
    if case.first_response_at is not None:
        return []
    case.first_response_at = at
    fields = ["first_response_at"]
    if case.opened_by_id is None:  # opened by the customer (mail, portal); staff-opened cases have no FRT
        calendar = calendar_for_team(case.team)
        fields += _set_span(case, durations.FIRST_RESPONSE, durations.span(case.created_at, at, calendar))
    return fields


def _closure_durations(case: Case, at: datetime) -> list[str]:
    """Resolution times and waits of a case closing at `at`, from its log so far (metrics.md §3.8)."""
    calendar = calendar_for_team(case.team)
    resolution = durations.span(case.created_at, at, calendar)
    fields = _set_span(case, durations.RESOLUTION, resolution)
    if case.first_resolution_seconds is None:
        fields += _set_span(case, durations.FIRST_RESOLUTION, resolution)
    log = [
        durations.LogEvent(id=pk, at=when, kind=kind, data=data)
        for pk, when, kind, data in CaseEvent.objects.filter(case=case).values_list(
            "pk", "at", "kind", "data"
        )
    ]
    w = durations.waits(log, end=at, calendar=calendar)
    fields += _set_span(case, durations.REQUESTER_WAIT, w.requester)
    fields += _set_span(case, durations.AGENT_WAIT, w.agent)
    return fields


# ---------------------------------------------------------------- opening


def find_follow_up_origin(
    *, customer: Customer, category: Category | None, kind: str, at: datetime
) -> Case | None:
    """A closed case of the same customer and need, closed within the follow-up window before `at`."""

    def build() -> Any:
        qs = Case.objects.filter(
            customer_id=standin(0),
            status=Status.CLOSED,
            closed_at__gte=time_standin(0),
            closed_at__lte=time_standin(1),
        )
        qs = qs.filter(category_id=standin(1)) if category is not None else qs.filter(kind=text_standin(0))
        return qs.order_by("-closed_at")[:1]

    # Compiled once (steward.core.compiled): every case opened asks it (issue 9).
    query = compiled(("follow_up_origin", category is not None), build)
    return query.first(  # type: ignore[no-any-return]
        {
            standin(0): customer.pk,
            standin(1): category.pk if category is not None else None,
            text_standin(0): kind,
            time_standin(0): at - follow_up_window(),
            time_standin(1): at,
        }
    )


@transaction.atomic
def case_open(
    *,
    actor: User | None,
    customer: Customer,
    subject: str,
    description: str,
    owner: User | None = None,
    kind: str = Kind.QUESTION,
    category: Category | None = None,
    priority: str = Priority.NORMAL,
    channel: str = Channel.EMAIL,
    follow_up_of: Case | None = None,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
    external_id: str = "",
    body_html: str = "",
) -> Case:
    """Open a case from a customer's first contact. `description` is what the customer said.

    `body_html` is the sanitised HTML of a first e-mail, kept beside the text `description`.
    """
    at = at or timeutil.now()
    subject = _clean_text(subject, field="subject", message=_("Give the case a subject."))[:300]
    description = _clean_text(description, field="description", message=_("Write what the customer needs."))
    if kind not in Kind.values:
        raise DomainError(_("Unknown kind of case."), field="kind")
    if priority not in Priority.values:
        raise DomainError(_("Unknown priority."), field="priority")
    if channel not in Channel.values:
        raise DomainError(_("Unknown channel."), field="channel")
    owner = owner or actor
    if owner is None or not can_own_cases(owner):
        raise DomainError(_("Choose an active adviser or manager as the owner."), field="owner")
    if follow_up_of is not None and follow_up_of.customer_id != customer.pk:
        raise DomainError(_("A follow-up must belong to the same customer."), field="follow_up_of")
    if follow_up_of is None:
        follow_up_of = find_follow_up_origin(customer=customer, category=category, kind=kind, at=at)

    # The case at its final version, its first message, all of its events and the hour's contact count:
    # one statement on PostgreSQL (cases/opening.py; issue 9: the same rows and signals as recording
    # them one by one).
    specs: list[tuple[str, User | None, dict[str, Any]]] = [
        (
            EventKind.OPENED,
            actor,
            {"owner": owner.pk, "channel": channel, "kind": kind, "priority": priority},
        ),
        (EventKind.MESSAGE_IN, None, {"automatic": False}),  # and the message's id, once it has one
    ]
    if follow_up_of is not None:
        specs.append(
            (EventKind.FOLLOW_UP_LINKED, actor, {"follow_up_of": follow_up_of.pk, "repeat_contact": True})
        )
    case = Case(
        customer=customer,
        subject=subject,
        kind=kind,
        category=category,
        priority=priority,
        channel=channel,
        status=Status.NEW,
        owner=owner,
        team_id=owner.team_id,
        opened_by=actor,
        created_at=at,
        updated_at=at,
        version=len(specs),
        follow_up_of=follow_up_of,
        is_repeat_contact=follow_up_of is not None,
    )
    message = Message(
        case=case,
        direction=Direction.INBOUND,
        channel=channel,
        body=description,
        body_html=body_html,
        is_automatic=False,
        external_id=external_id,
        created_at=at,
    )
    events = [
        CaseEvent(
            case=case,
            kind=event_kind,
            at=at,
            actor=event_actor,
            sector_id=getattr(event_actor, "sector_id", None),
            version=version,
            data=data,
        )
        for version, (event_kind, event_actor, data) in enumerate(specs, start=1)
    ]
    hour = count_statement(team_id=case.team_id, at=at, channel=channel, kind=kind, contacts=1)
    insert_opening(case, message, events, message_event=1, hour=hour)
    if attachments:
        _store_attachments(case, attachments, actor=actor, at=at, message=message)
    # `opening`: the receivers know the case is new in this transaction (no rollup rows, no portal
    # key, no next step, this is its first message) and need not read to find out (issue 9).
    for event in events:
        case_event_recorded.send(
            sender=CaseEvent,
            event=event,
            message=message if event.kind == EventKind.MESSAGE_IN else None,
            opening=True,
        )
    return case


# ---------------------------------------------------------------- conversation


@transaction.atomic
def case_receive_message(
    *,
    case: Case,
    body: str,
    channel: str = Channel.EMAIL,
    at: datetime | None = None,
    body_html: str = "",
    is_automatic: bool = False,
    external_id: str = "",
    attachments: Sequence[UploadedFile] = (),
    recorded_by: User | None = None,
) -> Message:
    """A customer wrote on this case. A proposed or recently closed case reopens."""
    at = at or timeutil.now()
    body = _clean_text(body, field="body", message=_("The message is empty."))
    case = _lock(case)
    _refuse_if_closed_too_long(case, at)
    message = _add_inbound(
        case,
        body=body,
        channel=channel,
        at=at,
        actor=recorded_by,
        body_html=body_html,
        is_automatic=is_automatic,
        external_id=external_id,
        attachments=attachments,
        uploader=recorded_by,
    )
    if is_automatic:
        return message
    if case.status in (Status.SOLUTION_PROPOSED, Status.CLOSED):
        _reopen(case, actor=recorded_by, at=at, reason="customer_wrote")
    elif case.status == Status.WAITING_CUSTOMER:
        old = case.status
        case.status = Status.OPEN
        _record(
            case,
            kind=EventKind.STATUS,
            actor=recorded_by,
            at=at,
            data={"from": old, "to": case.status},
            fields=["status"],
        )
    return message


@transaction.atomic
def case_reply(
    *,
    actor: User,
    case: Case,
    body: str,
    expected_version: int | None = None,
    wait_for_customer: bool = False,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> Message:
    """A reply to the customer. Refused if the case changed since the adviser loaded it."""
    at = at or timeutil.now()
    body = _clean_text(body, field="body", message=_("Write the reply."))
    case = _lock(case)
    _check_version(case, expected_version)  # first: a stale form learns what changed, e.g. a handoff
    _require_act(actor, case, at)
    if case.status == Status.CLOSED:
        raise DomainError(_("The case is closed; reopen it first."), field="body")
    message = Message(
        case=case, direction=Direction.OUTBOUND, channel=case.channel, author=actor, body=body, created_at=at
    )
    insert(message)
    count_contact(team_id=case.team_id, at=at, channel=case.channel, kind=case.kind, replies=1)
    fields = _first_response(case, at)
    old = case.status
    # A proposed solution already waits for the customer; only the customer or a reopen moves it on.
    if case.status != Status.SOLUTION_PROPOSED:
        if wait_for_customer:
            case.status = Status.WAITING_CUSTOMER
        elif case.status in (Status.NEW, Status.REOPENED):
            case.status = Status.OPEN
    if case.status != old:
        fields.append("status")
    _record(
        case,
        kind=EventKind.MESSAGE_OUT,
        actor=actor,
        at=at,
        data={"message": message.pk, "from": old, "to": case.status},
        fields=fields,
        message=message,
    )
    if attachments:
        _store_attachments(case, attachments, actor=actor, at=at, message=message)
    return message


@transaction.atomic
def case_add_note(
    *,
    actor: User,
    case: Case,
    body: str,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> Note:
    at = at or timeutil.now()
    body = _clean_text(body, field="body", message=_("Write the note."))
    case = _lock(case)
    if not can_note(actor, case):
        raise NotPermitted(_("You may not write on this case."))
    note = Note.objects.create(case=case, author=actor, body=body, created_at=at)
    count_contact(team_id=case.team_id, at=at, channel=case.channel, kind=case.kind, notes=1)
    _record(case, kind=EventKind.NOTE, actor=actor, at=at, data={"note": note.pk})
    if attachments:
        _store_attachments(case, attachments, actor=actor, at=at, note=note)
    return note


@transaction.atomic
def case_flag_repeat_explanation(
    *, actor: User, case: Case, comment: str = "", at: datetime | None = None
) -> CaseEvent:
    """The adviser records that the customer had to explain the reason of contact again."""
    at = at or timeutil.now()
    case = _lock(case)
    if not can_note(actor, case):
        raise NotPermitted(_("You may not write on this case."))
    return _record(
        case,
        kind=EventKind.REPEAT_EXPLANATION,
        actor=actor,
        at=at,
        data={"comment": (comment or "").strip()[:500], "source": "adviser"},
    )


# ---------------------------------------------------------------- ownership


@transaction.atomic
def case_hand_off(
    *,
    actor: User,
    case: Case,
    to_user: User,
    customer_need: str,
    done_so_far: str,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> Handoff:
    """Change the owner. The summary spares the customer from explaining again."""
    at = at or timeutil.now()
    errors = {}
    for field, text in (("customer_need", customer_need), ("done_so_far", done_so_far)):
        problem = summary_problem(text)
        if problem:
            errors[field] = problem
    if errors:
        field, problem = next(iter(errors.items()))
        raise DomainError(problem, field=field, code="summary")
    case = _lock(case)
    _check_version(case, expected_version)  # first: a stale form learns what changed, e.g. a handoff
    _require_act(actor, case, at)
    if case.status == Status.CLOSED:
        raise DomainError(_("A closed case cannot be handed over."), field="to_user")
    if to_user.pk == case.owner_id:
        raise DomainError(_("This person already owns the case."), field="to_user")
    if not can_own_cases(to_user):
        raise DomainError(
            _("This person cannot own cases: choose an active adviser or manager."), field="to_user"
        )
    handoff = Handoff.objects.create(
        case=case,
        from_user=case.owner,
        to_user=to_user,
        by=actor,
        customer_need=customer_need.strip(),
        done_so_far=done_so_far.strip(),
        created_at=at,
    )
    from_id = case.owner_id
    # The decision assessment's hourly counts follow the case's team (as its straight queries do).
    move_case_contacts(case.pk, case.team_id, to_user.team_id)
    case.owner = to_user
    case.team_id = to_user.team_id
    _record(
        case,
        kind=EventKind.HANDOFF,
        actor=actor,
        at=at,
        data={"handoff": handoff.pk, "from": from_id, "to": to_user.pk},
        fields=["owner", "team"],
    )
    return handoff


@transaction.atomic
def case_set_status(
    *, actor: User, case: Case, status: str, expected_version: int | None = None, at: datetime | None = None
) -> Case:
    at = at or timeutil.now()
    if status not in dict(MANUAL_STATUS_CHOICES):
        raise DomainError(
            _("This status follows from an action (propose, confirm, close, reopen)."), field="status"
        )
    case = _lock(case)
    _check_version(case, expected_version)  # first: a stale form learns what changed, e.g. a handoff
    _require_act(actor, case, at)
    if case.status in (Status.CLOSED, Status.SOLUTION_PROPOSED):
        raise DomainError(_("Reopen the case before changing its status."), field="status")
    if case.status == status:
        return case
    old = case.status
    case.status = status
    _record(
        case, kind=EventKind.STATUS, actor=actor, at=at, data={"from": old, "to": status}, fields=["status"]
    )
    return case


# ---------------------------------------------------------------- next steps


@transaction.atomic
def commitment_set(
    *, actor: User, case: Case, description: str, due_at: datetime, at: datetime | None = None
) -> Commitment:
    """Promise the customer a next step, with a date."""
    at = at or timeutil.now()
    description = _clean_text(description, field="description", message=_("Say what will happen next."))[:500]
    if due_at <= at:
        raise DomainError(_("The next step must be due in the future."), field="due_at")
    case = _lock(case)
    _require_act(actor, case, at)
    if case.status == Status.CLOSED:
        raise DomainError(_("The case is closed."), field="description")
    commitment = Commitment.objects.create(
        case=case, description=description, promised_by=actor, due_at=due_at, created_at=at
    )
    _record(
        case,
        kind=EventKind.COMMITMENT_SET,
        actor=actor,
        at=at,
        data={"commitment": commitment.pk, "due_at": due_at.isoformat()},
    )
    return commitment


_RESOLUTION_EVENTS: dict[str, str] = {
    CommitmentState.KEPT: EventKind.COMMITMENT_KEPT,
    CommitmentState.BROKEN: EventKind.COMMITMENT_BROKEN,
    CommitmentState.CANCELLED: EventKind.COMMITMENT_CANCELLED,
}


@transaction.atomic
def commitment_resolve(
    *, actor: User, commitment: Commitment, state: str, note: str = "", at: datetime | None = None
) -> Commitment:
    """Mark a next step kept, broken or cancelled (cancelled ones leave the promise-kept rate)."""
    at = at or timeutil.now()
    if state not in _RESOLUTION_EVENTS:
        raise DomainError(_("Choose kept, broken or cancelled."), field="state")
    case = _lock(commitment.case)
    _require_act(actor, case, at)
    commitment = Commitment.objects.select_for_update().get(pk=commitment.pk)
    if commitment.state != CommitmentState.OPEN:
        raise DomainError(
            _("This next step is already %(state)s.") % {"state": commitment.get_state_display()},
            field="state",
        )
    commitment.state = state
    commitment.resolved_at = at
    commitment.resolved_by = actor
    commitment.resolution_note = (note or "").strip()[:500]
    commitment.save(update_fields=["state", "resolved_at", "resolved_by", "resolution_note"])
    _record(
        case,
        kind=_RESOLUTION_EVENTS[state],
        actor=actor,
        at=at,
        data={"commitment": commitment.pk, "on_time": at <= commitment.due_at},
    )
    return commitment


# ---------------------------------------------------------------- solution and closure


@transaction.atomic
def case_propose_solution(
    *, actor: User, case: Case, solution: str, expected_version: int | None = None, at: datetime | None = None
) -> Case:
    """Tell the customer the solution. The case stays open until the customer confirms it."""
    at = at or timeutil.now()
    solution = _clean_text(solution, field="solution", message=_("Describe the solution for the customer."))
    case = _lock(case)
    _check_version(case, expected_version)  # first: a stale form learns what changed, e.g. a handoff
    _require_act(actor, case, at)
    if case.status in (Status.CLOSED, Status.SOLUTION_PROPOSED):
        raise DomainError(_("A solution is already proposed or the case is closed."), field="solution")
    message = Message.objects.create(
        case=case,
        direction=Direction.OUTBOUND,
        channel=case.channel,
        author=actor,
        body=solution,
        created_at=at,
    )
    count_contact(team_id=case.team_id, at=at, channel=case.channel, kind=case.kind, replies=1)
    old = case.status
    case.status = Status.SOLUTION_PROPOSED
    case.solution_proposed_at = at
    fields = ["status", "solution_proposed_at", *_first_response(case, at)]
    _record(
        case,
        kind=EventKind.SOLUTION_PROPOSED,
        actor=actor,
        at=at,
        data={"message": message.pk, "from": old},
        fields=fields,
        message=message,
    )
    return case


@transaction.atomic
def case_confirm_solution(
    *,
    case: Case,
    actor: User | None = None,
    channel: str = Channel.PORTAL,
    note: str = "",
    at: datetime | None = None,
) -> Case:
    """The customer confirms the proposed solution; only now does the case close.

    `actor` is None when the customer confirms themselves (portal or e-mail link); an adviser may
    record a confirmation the customer gave by phone, chat or in person, saying how.
    """
    at = at or timeutil.now()
    case = _lock(case)
    if case.status != Status.SOLUTION_PROPOSED:
        raise DomainError(_("Only a proposed solution can be confirmed."), field="status")
    if actor is not None:
        _require_act(actor, case, at)
        if channel not in STAFF_CONFIRMATION_CHANNELS:
            raise DomainError(
                _("Record a confirmation the customer gave you by phone, in person or in a chat."),
                field="channel",
            )
        note = _clean_text(note, field="note", message=_("Say how the customer confirmed the solution."))
    elif channel not in CUSTOMER_CONFIRMATION_CHANNELS:
        raise DomainError(_("Unknown channel."), field="channel")
    measured = _closure_durations(case, at)
    case.status = Status.CLOSED
    case.closed_at = at
    case.closure = Closure.CONFIRMED
    case.closure_note = (note or "").strip()
    _record(
        case,
        kind=EventKind.SOLUTION_CONFIRMED,
        actor=actor,
        at=at,
        data={"channel": channel, "recorded_by_staff": actor is not None},
        fields=["status", "closed_at", "closure", "closure_note", *measured],
    )
    return case


@transaction.atomic
def case_close_unconfirmed(*, actor: User, case: Case, reason: str, at: datetime | None = None) -> Case:
    """A manager closes a case the customer never confirmed, and says why."""
    at = at or timeutil.now()
    if not (actor.is_active and actor.manages_cases):
        raise NotPermitted(_("Only a manager may close a case without the customer's confirmation."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise DomainError(
            _("Give the reason for closing without confirmation (at least 10 characters)."), field="reason"
        )
    case = _lock(case)
    if case.status == Status.CLOSED:
        raise DomainError(_("The case is already closed."), field="reason")
    old = case.status
    measured = _closure_durations(case, at)
    case.status = Status.CLOSED
    case.closed_at = at
    case.closure = Closure.UNCONFIRMED
    case.closure_note = reason
    _record(
        case,
        kind=EventKind.CLOSED_UNCONFIRMED,
        actor=actor,
        at=at,
        data={"from": old, "reason": reason},
        fields=["status", "closed_at", "closure", "closure_note", *measured],
    )
    return case


@transaction.atomic
def case_reopen(*, actor: User | None, case: Case, reason: str, at: datetime | None = None) -> Case:
    at = at or timeutil.now()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the case is reopened."), field="reason")
    case = _lock(case)
    if actor is not None:
        _require_act(actor, case, at)
    if case.status not in (Status.SOLUTION_PROPOSED, Status.CLOSED):
        raise DomainError(_("Only a proposed or closed case can be reopened."), field="reason")
    _refuse_if_closed_too_long(case, at)
    _reopen(case, actor=actor, at=at, reason=reason)
    return case
