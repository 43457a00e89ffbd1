"""Surveys: the case survey after a solution, the relationship NPS survey, and what a low score starts.

A `Survey` is one invitation (one random token; only its SHA-256 is stored). A `SurveyResponse` is
the first answer submitted to it and never changes afterwards. Every survey and response keeps the
questionnaire version (the scales) it was given on; wording edits do not make a new version.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SurveyKind(models.TextChoices):
    CASE = "case", _("Case survey")
    RELATIONSHIP = "relationship", _("Relationship survey (NPS)")


class Question(models.TextChoices):
    """Every question Steward can ask. Which are asked depends on the survey kind and the case."""

    CSAT = "csat", _("Satisfaction (CSAT)")
    CES = "ces", _("Effort (CES 2.0)")
    SOLVED = "solved", _("Is the issue solved?")
    EXPLAINED_MORE_THAN_ONCE = "explained_more_than_once", _("Explained more than once?")
    KNEW_OWNER_AND_NEXT_STEP = "knew_owner_and_next_step", _("Knew the owner and the next step?")
    SOLVED_FIRST_CONTACT = "solved_first_contact", _("Solved at the first contact?")
    NPS = "nps", _("Recommendation (NPS)")
    COMMENT = "comment", _("Comment")


class QuestionnaireVersion(models.Model):
    """The scales answers are given on. A new row is a new version; an existing row is never edited."""

    number = models.PositiveIntegerField(_("version"), unique=True)
    csat_max = models.PositiveSmallIntegerField(_("CSAT scale maximum"), default=5)
    ces_max = models.PositiveSmallIntegerField(_("CES scale maximum"), default=7)
    nps_max = models.PositiveSmallIntegerField(_("NPS scale maximum"), default=10)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        verbose_name = _("questionnaire version")
        verbose_name_plural = _("questionnaire versions")

    def __str__(self) -> str:
        return f"v{self.number}"


class QuestionWording(models.Model):
    """A manager's wording of one question in one language; without a row the shipped default is used.

    Wording is not versioned: rewording keeps the meaning and the scale, so answers stay comparable.
    """

    question = models.CharField(_("question"), max_length=30, choices=Question.choices)
    language = models.CharField(_("language"), max_length=8)
    text = models.CharField(_("wording"), max_length=300)
    updated_at = models.DateTimeField(_("updated"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["question", "language"]
        verbose_name = _("question wording")
        verbose_name_plural = _("question wordings")
        constraints = [
            models.UniqueConstraint(fields=["question", "language"], name="wording_question_language")
        ]

    def __str__(self) -> str:
        return f"{self.question} [{self.language}]"


class CampaignState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Done")


class NpsCampaign(models.Model):
    """A relationship NPS survey a manager sent to a segment of customers."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("sent by")
    )
    created_at = models.DateTimeField(_("created"))
    # The segment as the manager chose it (language, organisation, team, closed within N days).
    segment = models.JSONField(_("segment"), default=dict, blank=True)
    matched = models.PositiveIntegerField(_("customers matched"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    skipped = models.PositiveIntegerField(_("skipped (quiet period or no address)"), default=0)
    state = models.CharField(
        _("state"), max_length=10, choices=CampaignState.choices, default=CampaignState.QUEUED
    )
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("NPS campaign")
        verbose_name_plural = _("NPS campaigns")

    def __str__(self) -> str:
        return f"NPS campaign #{self.pk}"


class Survey(models.Model):
    """One invitation to answer, reached through a single-use random token."""

    kind = models.CharField(_("kind"), max_length=20, choices=SurveyKind.choices)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="surveys",
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="surveys"
    )
    campaign = models.ForeignKey(
        NpsCampaign,
        verbose_name=_("NPS campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="surveys",
    )
    language = models.CharField(_("language"), max_length=8)
    questionnaire_version = models.PositiveIntegerField(_("questionnaire version"))
    # The case ended unconfirmed: the survey also asks whether the issue is solved.
    asks_solved = models.BooleanField(_("asks whether solved"), default=False)
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(_("sent"))
    expires_at = models.DateTimeField(_("expires"))
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(kind="case"), name="survey_one_case_survey_per_case"
            ),
            models.CheckConstraint(
                condition=Q(kind="relationship") | Q(case__isnull=False), name="survey_case_kind_has_case"
            ),
        ]
        indexes = [
            # The quiet period: a customer's latest relationship survey.
            models.Index(fields=["customer", "kind", "-sent_at"], name="survey_customer_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


def _scale(low: int, high: int) -> list[MinValueValidator | MaxValueValidator]:
    return [MinValueValidator(low), MaxValueValidator(high)]


class SurveyResponse(models.Model):
    """The first answer submitted to a survey. Each answer is null when it was not asked or skipped."""

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="response")
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="survey_responses",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_responses",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SurveyKind.choices)
    responded_at = models.DateTimeField(_("answered"), db_index=True)
    questionnaire_version = models.PositiveIntegerField(_("questionnaire version"))
    # 1–5 on the default scale; 1–7 when the questionnaire version says csat_max = 7.
    csat = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True, validators=_scale(1, 7))
    ces = models.PositiveSmallIntegerField(_("effort"), null=True, blank=True, validators=_scale(1, 7))
    nps = models.PositiveSmallIntegerField(
        _("recommendation"), null=True, blank=True, validators=_scale(0, 10)
    )
    solved = models.BooleanField(_("solved"), null=True, blank=True)
    explained_more_than_once = models.BooleanField(_("explained more than once"), null=True, blank=True)
    knew_owner_and_next_step = models.BooleanField(
        _("knew the owner and the next step"), null=True, blank=True
    )
    solved_first_contact = models.BooleanField(_("solved at the first contact"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["-responded_at", "-id"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["kind", "responded_at"], name="response_kind_at"),
        ]

    def __str__(self) -> str:
        return f"response to survey #{self.survey_id}"


class FollowUpState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class FollowUpReason(models.TextChoices):
    LOW_CSAT = "low_csat", _("Low satisfaction score")
    NOT_SOLVED = "not_solved", _("The customer says the issue is not solved")
    DETRACTOR = "detractor", _("Detractor in the relationship survey")


class FollowUp(models.Model):
    """Closing the loop: a manager calls back a customer who gave a low score."""

    response = models.OneToOneField(
        SurveyResponse, on_delete=models.CASCADE, related_name="follow_up", verbose_name=_("response")
    )
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="survey_follow_ups",
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_follow_ups",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=FollowUpReason.choices)
    state = models.CharField(
        _("state"), max_length=10, choices=FollowUpState.choices, default=FollowUpState.OPEN
    )
    created_at = models.DateTimeField(_("created"))
    due_at = models.DateTimeField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(_("what was done"), blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("survey follow-up")
        verbose_name_plural = _("survey follow-ups")
        indexes = [
            # The manager's list: open follow-ups by due date.
            models.Index(fields=["state", "due_at"], name="followup_state_due"),
        ]

    def __str__(self) -> str:
        return f"follow-up of response #{self.response_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One outbound webhook call (one URL, one event); retried by its Celery task until it succeeds."""

    event = models.CharField(_("event"), max_length=60)
    url = models.URLField(_("URL"), max_length=500)
    payload = models.JSONField(_("payload"))
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"))
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["state", "created_at"], name="webhook_state_created")]

    def __str__(self) -> str:
        return f"{self.event} → {self.url} ({self.state})"
