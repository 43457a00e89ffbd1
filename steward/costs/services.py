"""Every write of the costs app: one function per state change, keyword-only, with an explicit actor.

Compensation steps append a CaseEvent to the case through cases.services._record (under the case lock),
so the case's history shows who asked, who approved or rejected, and when; the event data never carries
the amount (see events.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from steward.accounts.models import User
from steward.cases.models import Case, Handoff, Message, Note, WorkLog
from steward.cases.permissions import can_act
from steward.cases.services import _lock, _record
from steward.core import timeutil
from steward.core.errors import DomainError, NotPermitted
from steward.reviews.models import Review
from steward.sectors.models import Sector

from . import classification, events, rollup
from .models import (
    ClassificationOverride,
    Compensation,
    CompensationKind,
    CompensationState,
    CostCategory,
    CostEntry,
    EntryKind,
    LineSource,
    ReviewMeeting,
    ReviewParticipant,
    SectorRate,
)
from .money import MAX_AMOUNT_MINOR, book, org_currency
from .permissions import can_manage_costs
from .selectors import Scope

# A meeting longer than a working day is several meetings.
MAX_MEETING_MINUTES = 8 * 60


def _require_manager(actor: User | None) -> User:
    if actor is None or not can_manage_costs(actor):
        raise NotPermitted(_("Only a service manager may do this."))
    return actor


def _clean(text: str, *, field: str, message: str, max_length: int | None = None) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError(message, field=field)
    if max_length is not None and len(text) > max_length:
        raise DomainError(
            _("Keep it under %(n)d characters.") % {"n": max_length},
            field=field,
        )
    return text


def approval_limit_minor() -> int:
    return int(settings.STEWARD_COMPENSATION_APPROVAL_LIMIT_MINOR)


# ------------------------------------------------------------------------------------ rates


def compute_loaded_rate(
    *,
    wages_minor: int,
    employer_taxes_minor: int,
    benefits_minor: int,
    overhead_minor: int,
    productive_hours: Decimal | int | float | str,
) -> int:
    """(wages + employer taxes + benefits + allocated overhead) / productive hours, in minor units per
    hour, rounded half up (metrics.md §1.3). Productive hours ≤ 0 is a configuration error."""
    try:
        hours = Decimal(str(productive_hours))
    except InvalidOperation:
        raise DomainError(_("Enter the productive hours as a number."), field="productive_hours") from None
    if not hours.is_finite() or hours <= 0:
        raise DomainError(
            _(
                "Productive hours must be greater than zero: paid hours minus leave, holidays, training "
                "and meetings."
            ),
            field="productive_hours",
            code="productive_hours",
        )
    parts = {
        "wages_minor": wages_minor,
        "employer_taxes_minor": employer_taxes_minor,
        "benefits_minor": benefits_minor,
        "overhead_minor": overhead_minor,
    }
    for name, value in parts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > MAX_AMOUNT_MINOR:
            raise DomainError(_("Enter an amount of zero or more."), field=name)
    rate = (Decimal(sum(parts.values())) / hours).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if rate <= 0:
        raise DomainError(
            _("These costs give a rate of zero; enter the sector's costs."), field="wages_minor"
        )
    return int(rate)


@transaction.atomic
def rate_set(
    *,
    actor: User,
    sector: Sector,
    effective_from: date,
    hourly_rate_minor: int | None = None,
    currency: str | None = None,
    wages_minor: int | None = None,
    employer_taxes_minor: int | None = None,
    benefits_minor: int | None = None,
    overhead_minor: int | None = None,
    productive_hours: Decimal | int | float | str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> SectorRate:
    """A new loaded rate for a sector from a date on, entered directly or computed from its costs.

    Rates are never edited: a change is a new rate from a later date. A new rate may not take effect on
    a day that already has costed time of the sector under an earlier rate (that would rewrite past
    costs); a rate dated before the sector's first rate only fills in time that had no cost yet.
    """
    _require_manager(actor)
    at = at or timeutil.now()
    org = org_currency()
    currency = (currency or org).strip().upper()
    if currency != org:
        raise DomainError(
            _("Rates are entered in %(org)s, the organisation's currency.") % {"org": org}, field="currency"
        )
    inputs: dict[str, object] = {}
    if hourly_rate_minor is None:
        if None in (wages_minor, employer_taxes_minor, benefits_minor, overhead_minor, productive_hours):
            raise DomainError(
                _(
                    "Enter the hourly rate, or wages, employer taxes, benefits, overhead "
                    "and productive hours."
                ),
                field="hourly_rate_minor",
            )
        hourly_rate_minor = compute_loaded_rate(
            wages_minor=wages_minor,  # type: ignore[arg-type]
            employer_taxes_minor=employer_taxes_minor,  # type: ignore[arg-type]
            benefits_minor=benefits_minor,  # type: ignore[arg-type]
            overhead_minor=overhead_minor,  # type: ignore[arg-type]
            productive_hours=productive_hours,  # type: ignore[arg-type]
        )
        inputs = {
            "wages_minor": wages_minor,
            "employer_taxes_minor": employer_taxes_minor,
            "benefits_minor": benefits_minor,
            "overhead_minor": overhead_minor,
            "productive_hours": Decimal(str(productive_hours)).quantize(Decimal("0.01")),
        }
    elif (
        not isinstance(hourly_rate_minor, int)
        or isinstance(hourly_rate_minor, bool)
        or not 0 < hourly_rate_minor <= MAX_AMOUNT_MINOR
    ):
        raise DomainError(_("The hourly rate must be greater than zero."), field="hourly_rate_minor")
    # Serialise rate changes of one sector: lock the sector row.
    Sector.objects.select_for_update().filter(pk=sector.pk).values_list("pk", flat=True).get()
    if SectorRate.objects.filter(sector=sector, effective_from=effective_from).exists():
        raise DomainError(
            _("%(sector)s already has a rate from %(date)s; rates are not edited, add one from a later date.")
            % {"sector": sector.name, "date": effective_from.isoformat()},
            field="effective_from",
        )
    first = (
        SectorRate.objects.filter(sector=sector)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    if first is not None and effective_from > first:
        last_costed = last_costed_day(sector.pk, since=effective_from)
        if last_costed is not None:
            raise DomainError(
                _(
                    "Time of %(sector)s on %(date)s is already costed at the earlier rate; a new rate "
                    "would rewrite past costs. Choose a date after %(date)s."
                )
                % {"sector": sector.name, "date": last_costed.isoformat()},
                field="effective_from",
                code="rewrites_past",
            )
    later = (
        SectorRate.objects.filter(sector=sector, effective_from__gt=effective_from)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    try:
        with transaction.atomic():
            rate = SectorRate.objects.create(
                sector=sector,
                effective_from=effective_from,
                hourly_rate_minor=hourly_rate_minor,
                currency=org,
                note=(note or "").strip()[:300],
                created_by=actor,
                created_at=at,
                **inputs,  # type: ignore[arg-type]
            )
            # The time this rate costs (until the next rate) had no cost until now: booked in CostDay.
            rollup.cost_sector_time(sector.pk, effective_from, later)
            return rate
    except IntegrityError:
        raise DomainError(_("This rate was just added by someone else."), field="effective_from") from None


def last_costed_day(sector_id: int, *, since: date) -> date | None:
    """The latest day on or after `since` on which staff time of this sector is costed (one query)."""
    from .selectors import STAFF_TIME_SOURCES, Scope, _parts

    parts = _parts(Scope(sources=STAFF_TIME_SOURCES))  # cost entries are not priced by rates
    first, *rest = [p.filter(ln_sector=sector_id, ln_day__gte=since).values("ln_day") for p in parts]
    row = first.union(*rest, all=True).order_by("-ln_day").first()
    return row["ln_day"] if row else None


# ------------------------------------------------------------------------------------ compensation


@transaction.atomic
def compensation_request(
    *,
    actor: User,
    case: Case,
    kind: str,
    amount_minor: int,
    currency: str,
    reason: str,
    at: datetime | None = None,
) -> Compensation:
    """The case owner (or acting backup, or a manager) offers the customer a compensation.

    Up to STEWARD_COMPENSATION_APPROVAL_LIMIT_MINOR it is approved at once, on the requester's own
    authority; above it, it waits for a manager who is not the requester.
    """
    at = at or timeutil.now()
    if kind not in CompensationKind.values:
        raise DomainError(_("Choose the kind of compensation."), field="kind")
    reason = _clean(reason, field="reason", message=_("Say why the customer is compensated."))
    booked = book(amount_minor, currency)
    case = _lock(case)
    if not can_act(actor, case, at=at):
        raise NotPermitted(
            _("Only the case owner, the backup while the owner is away, or a manager may do this.")
        )
    needs_approval = booked.amount_minor > approval_limit_minor()
    comp = Compensation.objects.create(
        case=case,
        kind=kind,
        amount_minor=booked.amount_minor,
        currency=booked.currency,
        original_amount_minor=booked.original_amount_minor,
        original_currency=booked.original_currency,
        fx_rate=booked.fx_rate,
        reason=reason,
        requested_by=actor,
        needs_approval=needs_approval,
        state=CompensationState.PENDING if needs_approval else CompensationState.APPROVED,
        approved_by=None if needs_approval else actor,
        decided_at=None if needs_approval else at,
        created_at=at,
    )
    _record(
        case,
        kind=events.COMPENSATION_REQUESTED,
        actor=actor,
        at=at,
        data={"compensation": comp.pk, "kind": kind, "needs_approval": needs_approval, "reason": reason},
    )
    if not needs_approval:
        _record(
            case,
            kind=events.COMPENSATION_APPROVED,
            actor=actor,
            at=at,
            data={"compensation": comp.pk, "kind": kind, "within_limit": True},
        )
    return comp


@transaction.atomic
def compensation_decide(
    *,
    actor: User,
    compensation: Compensation,
    approve: bool,
    note: str = "",
    at: datetime | None = None,
) -> Compensation:
    """A manager approves or rejects a pending compensation; never the person who asked for it."""
    at = at or timeutil.now()
    _require_manager(actor)
    case = _lock(compensation.case)
    comp = Compensation.objects.select_for_update().get(pk=compensation.pk)
    if comp.requested_by_id == actor.pk:
        raise NotPermitted(_("Another manager must decide on a compensation you asked for."))
    if comp.state != CompensationState.PENDING:
        raise DomainError(
            _("This compensation is already %(state)s.") % {"state": comp.get_state_display().lower()},
            field="note",
            code="compensation_state",
        )
    note = (note or "").strip()
    if not approve and not note:
        raise DomainError(_("Say why the compensation is rejected."), field="note")
    if len(note) > 500:
        raise DomainError(_("Keep it under %(n)d characters.") % {"n": 500}, field="note")
    comp.state = CompensationState.APPROVED if approve else CompensationState.REJECTED
    if approve:
        comp.approved_by = actor
    else:
        comp.rejected_by = actor
    comp.decided_at = at
    comp.decision_note = note
    comp.save(update_fields=["state", "approved_by", "rejected_by", "decided_at", "decision_note"])
    data: dict[str, object] = {"compensation": comp.pk, "kind": comp.kind}
    if note:
        data["reason"] = note
    _record(
        case,
        kind=events.COMPENSATION_APPROVED if approve else events.COMPENSATION_REJECTED,
        actor=actor,
        at=at,
        data=data,
    )
    return comp


# ------------------------------------------------------------------------------------ cost entries


def _entry_values(
    *,
    incurred_on: date,
    kind: str,
    description: str,
    amount_minor: int,
    currency: str,
    category: str | None,
    today: date,
) -> dict[str, object]:
    if kind not in EntryKind.values:
        raise DomainError(_("Choose what the cost was for."), field="kind")
    if incurred_on > today:
        raise DomainError(_("A cost is entered once it is incurred, not in advance."), field="incurred_on")
    if category and category not in CostCategory.values:
        raise DomainError(_("Choose a category."), field="category")
    booked_category = classification.entry_category(kind, category)
    if booked_category is None:
        raise DomainError(_("Choose the category of a cost of another kind."), field="category")
    description = _clean(description, field="description", message=_("Describe the cost."), max_length=300)
    booked = book(amount_minor, currency)
    return {
        "incurred_on": incurred_on,
        "kind": kind,
        "category": booked_category,
        "description": description,
        "amount_minor": booked.amount_minor,
        "currency": booked.currency,
        "original_amount_minor": booked.original_amount_minor,
        "original_currency": booked.original_currency,
        "fx_rate": booked.fx_rate,
    }


@transaction.atomic
def cost_entry_create(
    *,
    actor: User,
    incurred_on: date,
    kind: str,
    description: str,
    amount_minor: int,
    currency: str,
    category: str | None = None,
    sector: Sector | None = None,
    case: Case | None = None,
    at: datetime | None = None,
) -> CostEntry:
    _require_manager(actor)
    at = at or timeutil.now()
    values = _entry_values(
        incurred_on=incurred_on,
        kind=kind,
        description=description,
        amount_minor=amount_minor,
        currency=currency,
        category=category,
        today=timezone.localdate(at),
    )
    entry = CostEntry.objects.create(
        **values, sector=sector, case=case, created_by=actor, created_at=at, updated_by=actor, updated_at=at
    )
    rollup.add_line(LineSource.ENTRY, entry.pk)
    return entry


@transaction.atomic
def cost_entry_update(
    *,
    actor: User,
    entry: CostEntry,
    incurred_on: date,
    kind: str,
    description: str,
    amount_minor: int,
    currency: str,
    category: str | None = None,
    sector: Sector | None = None,
    case: Case | None = None,
    at: datetime | None = None,
) -> CostEntry:
    _require_manager(actor)
    at = at or timeutil.now()
    entry = CostEntry.objects.select_for_update().get(pk=entry.pk)
    if currency.strip().upper() == entry.original_currency and amount_minor == entry.original_amount_minor:
        # Unchanged amount: keep the conversion made when it was booked.
        values = _entry_values(
            incurred_on=incurred_on,
            kind=kind,
            description=description,
            amount_minor=1,
            currency=entry.currency,
            category=category,
            today=timezone.localdate(at),
        )
        for key in ("amount_minor", "currency", "original_amount_minor", "original_currency", "fx_rate"):
            values.pop(key)
    else:
        values = _entry_values(
            incurred_on=incurred_on,
            kind=kind,
            description=description,
            amount_minor=amount_minor,
            currency=currency,
            category=category,
            today=timezone.localdate(at),
        )
    changes = {**values, "sector": sector, "case": case, "updated_by": actor, "updated_at": at}
    for key, value in changes.items():
        setattr(entry, key, value)
    with rollup.reroll(Scope(sources=frozenset({LineSource.ENTRY}), line_id=entry.pk)):
        entry.save(update_fields=list(changes))
    return entry


@transaction.atomic
def cost_entry_delete(*, actor: User, entry: CostEntry) -> None:
    _require_manager(actor)
    with rollup.reroll(Scope(sources=frozenset({LineSource.ENTRY}), line_id=entry.pk)):
        ClassificationOverride.objects.filter(source=LineSource.ENTRY, source_id=entry.pk).delete()
        CostEntry.objects.filter(pk=entry.pk).delete()


# ------------------------------------------------------------------------------------ overrides

_LINE_MODELS = {
    LineSource.WORK_LOG: WorkLog,
    LineSource.REPLY: Message,
    LineSource.NOTE: Note,
    LineSource.HANDOFF: Handoff,
    LineSource.REVIEW: ReviewParticipant,
    LineSource.COMPENSATION: Compensation,
    LineSource.ENTRY: CostEntry,
}


@transaction.atomic
def line_override(
    *,
    actor: User,
    source: str,
    source_id: int,
    category: str,
    reason: str,
    at: datetime | None = None,
) -> ClassificationOverride:
    """A manager reclassifies one ledger line, saying why; the rule's category stays visible beside it."""
    _require_manager(actor)
    at = at or timeutil.now()
    model = _LINE_MODELS.get(source)  # type: ignore[call-overload]
    if model is None or not model.objects.filter(pk=source_id).exists():
        raise DomainError(_("This ledger line does not exist."), field="source_id")
    if category not in CostCategory.values:
        raise DomainError(_("Choose a category."), field="category")
    reason = _clean(reason, field="reason", message=_("Say why this line belongs elsewhere."), max_length=500)
    with rollup.reroll(Scope(sources=frozenset({source}), line_id=source_id)):
        return ClassificationOverride.objects.create(
            source=source, source_id=source_id, category=category, reason=reason, actor=actor, created_at=at
        )


# ------------------------------------------------------------------------------------ review meetings


@transaction.atomic
def review_meeting_record(
    *,
    actor: User,
    review: Review,
    held_on: date,
    duration_minutes: int,
    participants: Sequence[User],
    at: datetime | None = None,
) -> ReviewMeeting:
    """A blameless review meeting: who took part and for how long (costed per participant's sector)."""
    _require_manager(actor)
    at = at or timeutil.now()
    if not isinstance(duration_minutes, int) or not 1 <= duration_minutes <= MAX_MEETING_MINUTES:
        raise DomainError(
            _("A meeting lasts between 1 and %(max)d minutes.") % {"max": MAX_MEETING_MINUTES},
            field="duration_minutes",
        )
    if held_on > timezone.localdate(at):
        raise DomainError(_("Record a meeting once it has been held."), field="held_on")
    people = {u.pk: u for u in participants}
    if not people:
        raise DomainError(_("Name who took part."), field="participants")
    meeting = ReviewMeeting.objects.create(
        review=review, held_on=held_on, duration_minutes=duration_minutes, recorded_by=actor, created_at=at
    )
    ReviewParticipant.objects.bulk_create(
        [ReviewParticipant(meeting=meeting, user=u, sector_id=u.sector_id) for u in people.values()]
    )
    rollup.add_meeting(meeting.pk)
    return meeting
