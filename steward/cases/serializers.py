"""API shapes. Serializers validate input shape only; the rules live in services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from steward.accounts.models import User
from steward.core.compiled import compiled, standin
from steward.core.serializers import DetailSerializer, ErrorSerializer  # noqa: F401  (re-exported)
from steward.customers.models import Customer
from steward.customers.selectors import customers_visible_to, may_manage_customers

from .durations import ALL_FIELDS as DURATION_FIELDS
from .models import (
    MANUAL_STATUS_CHOICES,
    STAFF_CONFIRMATION_CHANNEL_CHOICES,
    Attachment,
    Case,
    CaseEvent,
    Category,
    Channel,
    Closure,
    Commitment,
    CommitmentState,
    Handoff,
    Kind,
    Message,
    Note,
    Priority,
    Status,
)

# Ids are 64-bit; a larger number in a filter is a 400, not a database overflow.
MAX_ID = 2**63 - 1
# Free text: far above any real message, low enough that one request cannot fill the database.
MAX_TEXT = 100_000


_BUILT_FIELDS: dict[type, Any] = {}


class BuiltOnceMixin:
    """A ModelSerializer maps its model fields anew for every instance (DRF's field mapping: 1-2 ms of
    CPU for the case detail, in every write's answer). These shapes map them once per class (issue 9),
    and each instance gets shallow copies of them: DRF deep-copies, which builds every field again from
    its arguments (about 1 ms of the case detail's answer). A field's state is its arguments, never
    changed after construction, plus what `bind` sets, which it sets on the copy; the built fields
    themselves are never bound or read."""

    def get_fields(self) -> dict[str, Any]:
        built = _BUILT_FIELDS.get(type(self))
        if built is None:
            built = _BUILT_FIELDS[type(self)] = super().get_fields()  # type: ignore[misc]
        return {name: _copied(field) for name, field in built.items()}


def _copied(field: Any) -> Any:
    """A shallow copy of a built field; a field with a child (many=True, a ListField) gets a copy of
    its child too, pointing at the copy (the child was bound to the built field when it was made).

    What `copy.copy` makes of a field (a new instance with the same `__dict__`; no DRF field has slots
    or a `__copy__`), without its generic protocol (`__reduce_ex__`, `copyreg`, the field's own
    `__new__` whose `_args` the dict overwrites anyway): a third of the time, and a case detail copies
    about 60 fields (issue 9)."""
    copied = object.__new__(type(field))
    copied.__dict__.update(field.__dict__)
    child = getattr(field, "child", None)
    if child is not None:
        copied.child = _copied(child)
        copied.child.parent = copied
    return copied


class UserRefSerializer(BuiltOnceMixin, serializers.ModelSerializer[User]):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "name", "role"]
        read_only_fields = fields


class CommitmentSerializer(BuiltOnceMixin, serializers.ModelSerializer[Commitment]):
    promised_by = UserRefSerializer(read_only=True)

    class Meta:
        model = Commitment
        fields = [
            "id",
            "description",
            "promised_by",
            "due_at",
            "state",
            "created_at",
            "resolved_at",
            "resolution_note",
        ]
        read_only_fields = fields


class CaseListSerializer(BuiltOnceMixin, serializers.ModelSerializer[Case]):
    customer: serializers.PrimaryKeyRelatedField[Customer] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    owner = UserRefSerializer(read_only=True)
    # allow_null: a case without a category answers null, so the schema must say nullable.
    category: serializers.StringRelatedField[Category] = serializers.StringRelatedField(
        read_only=True, allow_null=True
    )
    next_step_due = serializers.DateTimeField(read_only=True, allow_null=True)
    next_step_text = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "subject",
            "customer",
            "customer_name",
            "kind",
            "category",
            "priority",
            "channel",
            "status",
            "owner",
            "next_step_text",
            "next_step_due",
            "created_at",
            "updated_at",
            "version",
        ]
        read_only_fields = fields


class OwnershipSerializer(BuiltOnceMixin, serializers.Serializer[Any]):
    owner = UserRefSerializer()
    backup = UserRefSerializer(allow_null=True)
    owner_away = serializers.BooleanField()
    acting = UserRefSerializer(
        allow_null=True, help_text="Who acts as owner now: the backup while the owner is away."
    )
    user_can_act = serializers.BooleanField()


class CaseDetailSerializer(CaseListSerializer):
    # Explicit so the schema allows "" (an open case has no closure): the generated field said enum only.
    closure = serializers.ChoiceField(choices=Closure.choices, allow_blank=True, read_only=True)
    ownership = serializers.SerializerMethodField()
    next_step = serializers.SerializerMethodField()

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields,
            "ownership",
            "next_step",
            "first_response_at",
            "solution_proposed_at",
            "closed_at",
            "closure",
            "closure_note",
            "reopen_count",
            "follow_up_of",
            "is_repeat_contact",
            # Seconds, calendar and business time on the owning team's calendar (null: not measured).
            *DURATION_FIELDS,
        ]
        read_only_fields = fields

    @extend_schema_field(OwnershipSerializer)
    def get_ownership(self, case: Case) -> dict[str, Any]:
        return OwnershipSerializer(self.context["ownership"]).data

    @extend_schema_field(CommitmentSerializer(allow_null=True))
    def get_next_step(self, case: Case) -> dict[str, Any] | None:
        step = self.context.get("next_step")
        return CommitmentSerializer(step).data if step else None


class CaseFilterSerializer(serializers.Serializer[Any]):
    """Query parameters of the case list (the same filters as the case list page)."""

    scope = serializers.ChoiceField(
        choices=[("mine", "Mine"), ("team", "My team"), ("all", "All")],
        default="all",
        help_text="mine: I own it, or cover it while its owner is away; team: my team's; "
        "all: every case I may see.",
    )
    status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        allow_blank=True,
        help_text="A status; `open` means every status but closed.",
    )
    kind = serializers.ChoiceField(choices=Kind.choices, required=False, allow_blank=True)
    owner = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, help_text="Owner's id.")
    customer = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="Customer's id."
    )
    sector = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, help_text="The owner's sector id."
    )
    overdue = serializers.BooleanField(default=False, help_text="Only cases whose next step is overdue.")
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Search subject, customer name and e-mail, or a case number.",
    )


@extend_schema_field(OpenApiTypes.INT)
class VisibleCustomerField(serializers.PrimaryKeyRelatedField[Customer]):
    """A customer the caller (context["user"]) may not see reads as an unknown id, like a missing one."""

    def get_queryset(self) -> QuerySet[Customer]:
        user = self._user()
        return customers_visible_to(user) if isinstance(user, User) else Customer.objects.none()

    def _user(self) -> Any:
        request = self.context.get("request")
        return self.context.get("user", getattr(request, "user", None))

    def to_internal_value(self, data: Any) -> Customer:
        """PrimaryKeyRelatedField's answer (the same errors), with the read compiled once per process
        (issue 9: every case opened through the API). `customers_visible_to` is the rule; it depends
        on `may_manage_customers` alone, which keys the compiled read."""
        if data is None:  # the ORM reads pk=None as "is null": no such customer
            self.fail("does_not_exist", pk_value=data)
        try:
            if isinstance(data, bool):
                raise TypeError
            pk = int(data)  # what the ORM does with a value for an integer primary key
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        user = self._user()
        if isinstance(user, User) and -(2**63) <= pk < 2**63:
            query = compiled(
                ("visible_customer", may_manage_customers(user)),
                lambda: customers_visible_to(user).filter(pk=standin(0))[:1],
            )
            found = query.first({standin(0): pk})
            if found is not None:
                return found  # type: ignore[no-any-return]
        self.fail("does_not_exist", pk_value=data)


class CaseCreateSerializer(BuiltOnceMixin, serializers.Serializer[Any]):
    customer = VisibleCustomerField(help_text="A customer the caller may see.")
    subject = serializers.CharField(max_length=300)
    description = serializers.CharField(
        max_length=MAX_TEXT, help_text="What the customer said: the first contact."
    )
    kind = serializers.ChoiceField(choices=Kind.choices, default=Kind.QUESTION)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), required=False, allow_null=True
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Defaults to the caller.",
    )


class AttachmentSerializer(BuiltOnceMixin, serializers.ModelSerializer[Attachment]):
    download = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "original_name", "content_type", "size", "message", "note", "created_at", "download"]
        read_only_fields = fields

    def get_download(self, att: Attachment) -> str:
        return reverse("api:case-attachment", kwargs={"pk": att.case_id, "attachment_id": att.pk})


class MessageSerializer(BuiltOnceMixin, serializers.ModelSerializer[Message]):
    author = UserRefSerializer(read_only=True, allow_null=True)  # null: the customer's own messages
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "direction", "channel", "author", "body", "is_automatic", "created_at", "attachments"]
        read_only_fields = fields


def _expected_version() -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=0,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="The case version you read. If the case changed since, the answer is a 409 listing "
        "what changed; leave it out to act on the latest version.",
    )


def _attachments_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="Files to attach (multipart/form-data); size and type are checked.",
    )


class ReplySerializer(BuiltOnceMixin, serializers.Serializer[Any]):
    body = serializers.CharField(max_length=MAX_TEXT)
    expected_version = _expected_version()
    wait_for_customer = serializers.BooleanField(default=False)
    attachments = _attachments_field()


class NoteSerializer(serializers.ModelSerializer[Note]):
    author = UserRefSerializer(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Note
        fields = ["id", "author", "body", "created_at", "attachments"]
        read_only_fields = fields


class NoteCreateSerializer(serializers.Serializer[Any]):
    body = serializers.CharField(
        max_length=MAX_TEXT, help_text="An internal note: never sent to the customer."
    )
    attachments = _attachments_field()


class HandoffSerializer(serializers.ModelSerializer[Handoff]):
    from_user = UserRefSerializer(read_only=True)
    to_user = UserRefSerializer(read_only=True)
    by = UserRefSerializer(read_only=True)

    class Meta:
        model = Handoff
        fields = ["id", "from_user", "to_user", "by", "customer_need", "done_so_far", "created_at"]
        read_only_fields = fields


class HandoffCreateSerializer(serializers.Serializer[Any]):
    to_user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), help_text="The new owner: an active adviser or manager."
    )
    customer_need = serializers.CharField(
        max_length=MAX_TEXT, help_text="What the customer needs, in your own words."
    )
    done_so_far = serializers.CharField(max_length=MAX_TEXT, help_text="What has been done so far.")
    expected_version = _expected_version()


class CommitmentCreateSerializer(serializers.Serializer[Any]):
    description = serializers.CharField(max_length=500)
    due_at = serializers.DateTimeField()


class CommitmentResolveSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(
        choices=[c for c in CommitmentState.choices if c[0] != CommitmentState.OPEN]
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ProposeSerializer(serializers.Serializer[Any]):
    solution = serializers.CharField(max_length=MAX_TEXT)
    expected_version = _expected_version()


class ConfirmSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=STAFF_CONFIRMATION_CHANNEL_CHOICES)
    note = serializers.CharField(max_length=MAX_TEXT, help_text="How the customer confirmed the solution.")


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=MAX_TEXT)


class RepeatExplanationSerializer(serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class StatusSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=MANUAL_STATUS_CHOICES)
    expected_version = _expected_version()


class CaseEventSerializer(serializers.ModelSerializer[CaseEvent]):
    actor = UserRefSerializer(read_only=True, allow_null=True)
    sector: serializers.StringRelatedField[Any] = serializers.StringRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = CaseEvent
        fields = ["id", "kind", "at", "actor", "sector", "version", "data"]
        read_only_fields = fields


class ConflictSerializer(serializers.Serializer[Any]):
    expected_version = serializers.ListField(child=serializers.CharField())
    current_version = serializers.IntegerField()
    changes = serializers.ListField(child=serializers.CharField())
