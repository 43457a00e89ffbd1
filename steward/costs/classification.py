"""Which cost-of-quality category each ledger line belongs to: explicit rules, one module.

PAF model (Feigenbaum 1956; ASQ): prevention stops defects, appraisal checks conformance, internal
failure is a defect caught before the customer is affected, external failure is one the customer
met (metrics.md §1.1, mapping table §1.2). Every rule has a code shown to users next to the line;
a manager may override one line's category with a reason (ClassificationOverride), and the ledger shows
both the rule and the override.

Rules, first match wins, per source:

Work logged on a sector task (minutes × the sector's loaded rate on the day):
  IF-RETURNED   the task was returned to the sender: the work was rework/ping-pong caught inside the
                company (§1.2 "a task returned to a previous sector"). Checked first: rework on a
                complaint is still rework.
  EF-COMPLAINT  the case is a complaint: complaint handling in every sector (§1.2, ASQ).
  EF-REOPENED   the customer reopened the case: customer-visible reopen.
  EF-REPEAT     the case is a repeat contact about an earlier need.
  SVC           anything else: ordinary service. It is a cost, but not a cost of quality
                (category None): conformance is not a quality cost, and COQ totals skip it.
Replies, internal notes and handoffs (standard handling time, an estimate): the same case rules
  EF-COMPLAINT / EF-REOPENED / EF-REPEAT, else SVC.
Review meeting time (participants × duration × each participant's sector rate):
  IF-REVIEW     failure analysis, which ASQ lists under internal failure.
Compensation (approved, at face value):
  EF-COMPENSATION  refunds, credits, goodwill gestures, replacements.
Cost entries (amounts entered by a manager), by kind:
  P-TRAINING, P-KNOWLEDGE, P-PROCESS, P-CORRECTIVE   prevention (training, knowledge base and process
                diagrams, process redesign, corrective actions from reviews)
  A-QA, A-SURVEY, A-AUDIT                            appraisal (case quality checks, the survey
                programme, audits)
  IF-REWORK     internal failure (rework caught before the customer)
  EF-WARRANTY   external failure (warranty, returns, re-performed service)
  M-ENTRY       kind "other": the category the manager chose when entering it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, CharField, Expression, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import ClassificationOverride, CostCategory, EntryKind, LineSource

P = CostCategory.PREVENTION.value
A = CostCategory.APPRAISAL.value
IF = CostCategory.INTERNAL_FAILURE.value
EF = CostCategory.EXTERNAL_FAILURE.value


@dataclass(frozen=True)
class Rule:
    code: str
    category: str | None  # None: not a cost of quality (SVC), or chosen by hand (M-ENTRY)
    label: Promise
    basis: Promise


RULES: dict[str, Rule] = {
    r.code: r
    for r in [
        Rule(
            "EF-COMPLAINT",
            EF,
            _("Complaint handling"),
            _("Time spent in any sector on a complaint case (ASQ: complaint handling is external failure)."),
        ),
        Rule(
            "EF-REOPENED",
            EF,
            _("Reopened case"),
            _("Time on a case the customer reopened: the solution did not hold."),
        ),
        Rule(
            "EF-REPEAT",
            EF,
            _("Repeat contact"),
            _("Time on a case that is a repeat contact about an earlier need."),
        ),
        Rule(
            "EF-COMPENSATION",
            EF,
            _("Compensation"),
            _("Refunds, credits, goodwill gestures and replacements, at face value when approved."),
        ),
        Rule(
            "EF-WARRANTY",
            EF,
            _("Warranty and returns"),
            _("Warranty, returns and re-performed service entered as a cost entry."),
        ),
        Rule(
            "IF-RETURNED",
            IF,
            _("Returned sector task (rework)"),
            _("Work on a sector task that was sent back: rework caught before it reached the customer."),
        ),
        Rule(
            "IF-REVIEW",
            IF,
            _("Failure analysis (review meeting)"),
            _("Blameless review meeting time: failure analysis, which ASQ lists under internal failure."),
        ),
        Rule("IF-REWORK", IF, _("Rework"), _("Rework caught before the customer, entered as a cost entry.")),
        Rule("P-TRAINING", P, _("Training"), _("Training advisers and sectors prevents failures.")),
        Rule(
            "P-KNOWLEDGE",
            P,
            _("Knowledge base and process diagrams"),
            _("Writing down how work is done prevents inconsistent answers."),
        ),
        Rule("P-PROCESS", P, _("Process redesign"), _("Changing a process so a failure cannot recur.")),
        Rule(
            "P-CORRECTIVE",
            P,
            _("Corrective action"),
            _("Carrying out a corrective action agreed in a review."),
        ),
        Rule("A-QA", A, _("Quality checks"), _("Sampling and checking cases for conformance.")),
        Rule("A-SURVEY", A, _("Survey programme"), _("Asking customers how the service went.")),
        Rule("A-AUDIT", A, _("Audit"), _("Audits of the service and its processes.")),
        Rule(
            "M-ENTRY",
            None,
            _("Category chosen by hand"),
            _("A cost entry of another kind, classified when entered."),
        ),
        Rule(
            "SVC",
            None,
            _("Ordinary service"),
            _("Time on a case with no failure signal: a service cost, not a cost of quality."),
        ),
    ]
}

ENTRY_RULES: dict[str, str] = {
    EntryKind.TRAINING: "P-TRAINING",
    EntryKind.KNOWLEDGE_BASE: "P-KNOWLEDGE",
    EntryKind.PROCESS_REDESIGN: "P-PROCESS",
    EntryKind.CORRECTIVE_ACTION: "P-CORRECTIVE",
    EntryKind.QUALITY_CHECK: "A-QA",
    EntryKind.SURVEY_PROGRAMME: "A-SURVEY",
    EntryKind.AUDIT: "A-AUDIT",
    EntryKind.REWORK: "IF-REWORK",
    EntryKind.WARRANTY: "EF-WARRANTY",
    EntryKind.OTHER: "M-ENTRY",
}


def entry_category(kind: str, chosen: str | None) -> str | None:
    """The category a cost entry of this kind is booked under (the chosen one only for "other")."""
    rule = RULES[ENTRY_RULES[kind]]
    return rule.category if rule.category is not None else (chosen or None)


# ------------------------------------------------------------------ the same rules as SQL expressions


def _text(value: str | None) -> Value:
    return Value(value, output_field=CharField())


def _case_flag_whens(prefix: str) -> list[When]:
    return [
        When(**{f"{prefix}kind": "complaint"}, then=_text("EF-COMPLAINT")),
        When(**{f"{prefix}reopen_count__gt": 0}, then=_text("EF-REOPENED")),
        When(**{f"{prefix}is_repeat_contact": True}, then=_text("EF-REPEAT")),
    ]


def work_log_rule() -> Expression:
    return Case(
        When(task__state="returned", then=_text("IF-RETURNED")),
        *_case_flag_whens("task__case__"),
        default=_text("SVC"),
        output_field=CharField(),
    )


def contact_rule() -> Expression:
    return Case(*_case_flag_whens("case__"), default=_text("SVC"), output_field=CharField())


def entry_rule() -> Expression:
    return Case(
        *[When(kind=kind, then=_text(code)) for kind, code in ENTRY_RULES.items()],
        default=_text("M-ENTRY"),
        output_field=CharField(),
    )


def rule_category(rule_field: str = "rule", *, hand_chosen: str | None = None) -> Expression:
    """The category of the rule annotated as `rule_field`; for M-ENTRY the row's own `hand_chosen` field."""
    whens = [
        When(**{rule_field: code}, then=_text(rule.category))
        for code, rule in RULES.items()
        if rule.category is not None
    ]
    if hand_chosen:
        whens.append(When(**{rule_field: "M-ENTRY"}, then=F(hand_chosen)))
    return Case(*whens, default=_text(None), output_field=CharField())


def latest_override(source: str, field: str = "category") -> Subquery:
    return Subquery(
        ClassificationOverride.objects.filter(source=source, source_id=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values(field)[:1],
        output_field=CharField(),
    )


def effective_category(
    source: str, rule_field: str = "rule", *, hand_chosen: str | None = None
) -> Expression:
    """The latest override of the line, else its rule's category."""
    return Coalesce(latest_override(source), rule_category(rule_field, hand_chosen=hand_chosen))


__all__ = [
    "ENTRY_RULES",
    "RULES",
    "LineSource",
    "Rule",
    "contact_rule",
    "effective_category",
    "entry_category",
    "entry_rule",
    "latest_override",
    "rule_category",
    "work_log_rule",
]
