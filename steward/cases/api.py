"""REST API for cases. Every write calls the same service as the web UI.

Each view parses its input with a serializer (shape only), looks the case up through
`selectors.case_get_for_user` (a case the caller may not see is a 404, never a 403), calls one service
and answers. The exception handler in `steward.core.api` turns a service's refusal into a 400 with field
messages, a stale `expected_version` into a 409 listing what changed, and `NotPermitted` (the caller sees
the case but may not do this) into a 403. Anonymous callers get a 401.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from steward.accounts.models import User
from steward.core import timeutil

from . import selectors, services, task_selectors, task_serializers, task_services
from . import serializers as s
from .models import Attachment, Case

# Error answers, documented where they can happen: 400 bad input, 403 may see but not act,
# 404 not there or not visible, 409 the case changed since `expected_version`.
ERRORS = {400: s.ErrorSerializer, 403: s.DetailSerializer, 404: s.DetailSerializer}
VERSIONED_ERRORS = {**ERRORS, 409: s.ConflictSerializer}
READ_ERRORS = {404: s.DetailSerializer}
WITH_FILES = ("application/json", "multipart/form-data")


def _user(request: Request) -> User:
    assert isinstance(request.user, User)  # IsAuthenticated ran first
    return request.user


def _parse(serializer_class: type[serializers.Serializer[Any]], request: Request) -> dict[str, Any]:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _no_attachments() -> Any:
    """An empty attachment list already evaluated: iterating `.none()` still compiled its SQL (to find
    it empty), a millisecond of CPU per API reply under the profiler (issue 9)."""
    empty = Attachment.objects.none()
    empty._result_cache = []  # type: ignore[attr-defined]
    empty._prefetch_done = True  # type: ignore[attr-defined]
    return empty


@extend_schema_view(
    list=extend_schema(
        parameters=[s.CaseFilterSerializer],
        responses={200: s.CaseListSerializer(many=True), 400: s.ErrorSerializer},
        description="Cases the caller may see, newest first, with cursor pagination.",
    ),
    retrieve=extend_schema(
        responses={200: s.CaseDetailSerializer, **READ_ERRORS},
        description="One case with its owner, backup, who acts now, and its next step.",
    ),
)
# The nested lists (messages, notes, events…) answer a plain array: `pagination_class=None` on their
# actions, or the schema documented them as paginated objects (schemathesis response_schema_conformance).
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Case]):
    serializer_class = s.CaseListSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    lookup_value_regex = r"[^/]+"  # a malformed id is a 404 from the access helper, like an invisible one
    filter_backends: list[Any] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Case.objects.none()
        user = _user(self.request)
        if self.action != "list":
            return Case.objects.visible_to(user)
        params = s.CaseFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        v = params.validated_data
        filters = selectors.CaseFilters(
            scope=v["scope"],
            status=v.get("status", ""),
            kind=v.get("kind", ""),
            owner=v.get("owner"),
            customer=v.get("customer"),
            sector=v.get("sector"),
            overdue=v["overdue"],
            q=v.get("q", ""),
        )
        return selectors.case_list(user=user, filters=filters, now=timeutil.now())

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        # The list renders CaseListSerializer; the browsable API's create form needs the input shape.
        return s.CaseCreateSerializer if self.action == "create" else super().get_serializer_class()

    def get_object(self) -> Case:
        return selectors.case_get_for_user(_user(self.request), self.kwargs["pk"])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self._detail(self.get_object()))

    def _detail(self, case: Case, *, opened: bool = False) -> dict[str, Any]:
        """`opened`: the case was just opened in this request, so it is in memory with its customer,
        owner and category, and has no next step yet (2 queries fewer than reading it again)."""
        if opened:
            case.next_step_due = case.next_step_text = None  # type: ignore[attr-defined]
        else:
            case = (
                Case.objects.with_next_step()
                .select_related("customer", "owner", "owner__backup", "category")
                .get(pk=case.pk)
            )
        context = {
            "request": self.request,
            "ownership": selectors.case_ownership(case, user=_user(self.request), now=timeutil.now()),
            "next_step": None if opened else selectors.case_next_step(case),
        }
        return s.CaseDetailSerializer(case, context=context).data

    @extend_schema(
        request=s.CaseCreateSerializer,
        responses={201: s.CaseDetailSerializer, 400: s.ErrorSerializer},
        description="Open a case from a customer's first contact. The owner defaults to the caller.",
    )
    def create(self, request: Request) -> Response:
        user = _user(request)
        data = s.CaseCreateSerializer(data=request.data, context={"user": user})
        data.is_valid(raise_exception=True)
        v = data.validated_data
        case = services.case_open(
            actor=user,
            customer=v["customer"],
            subject=v["subject"],
            description=v["description"],
            owner=v.get("owner") or user,
            kind=v["kind"],
            category=v.get("category"),
            priority=v["priority"],
            channel=v["channel"],
        )
        return Response(self._detail(case, opened=True), status=status.HTTP_201_CREATED)

    # -------------------------------------------------------------- conversation

    @extend_schema(
        methods=["GET"],
        responses={200: s.MessageSerializer(many=True), **READ_ERRORS},
        description="The conversation with the customer, oldest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=dict.fromkeys(WITH_FILES, s.ReplySerializer),
        responses={201: s.MessageSerializer, **VERSIONED_ERRORS},
        description="Reply to the customer, optionally with files (multipart/form-data).",
    )
    @action(detail=True, methods=["get", "post"], serializer_class=s.ReplySerializer, pagination_class=None)
    def messages(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            qs = case.messages.select_related("author").prefetch_related("attachments")
            return Response(s.MessageSerializer(qs, many=True).data)
        v = _parse(s.ReplySerializer, request)
        msg = services.case_reply(
            actor=_user(request),
            case=case,
            body=v["body"],
            expected_version=v.get("expected_version"),
            wait_for_customer=v["wait_for_customer"],
            attachments=v["attachments"],
        )
        if not v["attachments"]:  # nothing was uploaded: no query for the message's (empty) file list
            msg._prefetched_objects_cache = {"attachments": _no_attachments()}  # type: ignore[attr-defined]
        return Response(s.MessageSerializer(msg).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses={200: s.NoteSerializer(many=True), **READ_ERRORS},
        description="Internal notes, oldest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=dict.fromkeys(WITH_FILES, s.NoteCreateSerializer),
        responses={201: s.NoteSerializer, **ERRORS},
        description="Add an internal note (never sent to the customer), optionally with files.",
    )
    @action(
        detail=True, methods=["get", "post"], serializer_class=s.NoteCreateSerializer, pagination_class=None
    )
    def notes(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            qs = case.notes.select_related("author").prefetch_related("attachments")
            return Response(s.NoteSerializer(qs, many=True).data)
        v = _parse(s.NoteCreateSerializer, request)
        note = services.case_add_note(
            actor=_user(request), case=case, body=v["body"], attachments=v["attachments"]
        )
        return Response(s.NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    # -------------------------------------------------------------- ownership

    @extend_schema(
        methods=["GET"],
        responses={200: s.HandoffSerializer(many=True), **READ_ERRORS},
        description="Every change of owner with its summary, oldest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=s.HandoffCreateSerializer,
        responses={201: s.HandoffSerializer, **VERSIONED_ERRORS},
        description="Hand the case to a new owner, with a summary so the customer never explains twice.",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=s.HandoffCreateSerializer,
        pagination_class=None,
    )
    def handoffs(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            qs = case.handoffs.select_related("from_user", "to_user", "by").order_by("created_at", "id")
            return Response(s.HandoffSerializer(qs, many=True).data)
        v = _parse(s.HandoffCreateSerializer, request)
        handoff = services.case_hand_off(
            actor=_user(request),
            case=case,
            to_user=v["to_user"],
            customer_need=v["customer_need"],
            done_so_far=v["done_so_far"],
            expected_version=v.get("expected_version"),
        )
        return Response(s.HandoffSerializer(handoff).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses={200: s.CommitmentSerializer(many=True), **READ_ERRORS},
        description="Next steps promised to the customer, soonest due first.",
    )
    @extend_schema(
        methods=["POST"],
        request=s.CommitmentCreateSerializer,
        responses={201: s.CommitmentSerializer, **ERRORS},
        description="Promise the customer a next step with a due date.",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=s.CommitmentCreateSerializer,
        pagination_class=None,
    )
    def commitments(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            qs = case.commitments.select_related("promised_by").order_by("due_at", "id")
            return Response(s.CommitmentSerializer(qs, many=True).data)
        v = _parse(s.CommitmentCreateSerializer, request)
        commitment = services.commitment_set(
            actor=_user(request), case=case, description=v["description"], due_at=v["due_at"]
        )
        return Response(s.CommitmentSerializer(commitment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.CommitmentResolveSerializer,
        responses={200: s.CommitmentSerializer, **ERRORS},
        parameters=[OpenApiParameter("commitment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        description="Mark a next step kept, broken or cancelled.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"commitments/(?P<commitment_id>[0-9]+)/resolve",
        serializer_class=s.CommitmentResolveSerializer,
    )
    def resolve_commitment(self, request: Request, pk: str, commitment_id: str) -> Response:
        case = self.get_object()
        # Only this case's next steps: another case's id is a 404 even when that case is visible.
        commitment = case.commitments.filter(pk=int(commitment_id)).first()
        if commitment is None:
            raise Http404
        v = _parse(s.CommitmentResolveSerializer, request)
        commitment = services.commitment_resolve(
            actor=_user(request), commitment=commitment, state=v["state"], note=v["note"]
        )
        return Response(s.CommitmentSerializer(commitment).data)

    # -------------------------------------------------------------- solution and status

    @extend_schema(
        request=s.ProposeSerializer,
        responses={200: s.CaseDetailSerializer, **VERSIONED_ERRORS},
        description="Propose a solution. The case stays open until the customer confirms it.",
    )
    @action(detail=True, methods=["post"], serializer_class=s.ProposeSerializer)
    def propose(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        v = _parse(s.ProposeSerializer, request)
        services.case_propose_solution(
            actor=_user(request),
            case=case,
            solution=v["solution"],
            expected_version=v.get("expected_version"),
        )
        return Response(self._detail(case))

    @extend_schema(
        request=s.ConfirmSerializer,
        responses={200: s.CaseDetailSerializer, **ERRORS},
        description="Record the customer's confirmation given by phone, chat or in person; closes the case.",
    )
    @action(detail=True, methods=["post"], serializer_class=s.ConfirmSerializer)
    def confirm(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        v = _parse(s.ConfirmSerializer, request)
        services.case_confirm_solution(actor=_user(request), case=case, channel=v["channel"], note=v["note"])
        return Response(self._detail(case))

    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.CaseDetailSerializer, **ERRORS},
        description="A manager closes the case without the customer's confirmation, with a reason.",
    )
    @action(detail=True, methods=["post"], url_path="close-unconfirmed", serializer_class=s.ReasonSerializer)
    def close_unconfirmed(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        v = _parse(s.ReasonSerializer, request)
        services.case_close_unconfirmed(actor=_user(request), case=case, reason=v["reason"])
        return Response(self._detail(case))

    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.CaseDetailSerializer, **ERRORS},
        description="Reopen a proposed or recently closed case, saying why.",
    )
    @action(detail=True, methods=["post"], serializer_class=s.ReasonSerializer)
    def reopen(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        v = _parse(s.ReasonSerializer, request)
        services.case_reopen(actor=_user(request), case=case, reason=v["reason"])
        return Response(self._detail(case))

    @extend_schema(
        request=s.RepeatExplanationSerializer,
        responses={201: s.CaseEventSerializer, **ERRORS},
        description="Record that the customer had to explain the reason of contact again.",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="repeat-explanation",
        serializer_class=s.RepeatExplanationSerializer,
    )
    def repeat_explanation(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        v = _parse(s.RepeatExplanationSerializer, request)
        event = services.case_flag_repeat_explanation(actor=_user(request), case=case, comment=v["comment"])
        return Response(s.CaseEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.StatusSerializer,
        responses={200: s.CaseDetailSerializer, **VERSIONED_ERRORS},
        description="Set a status by hand (open, waiting on the customer, waiting on a sector). Closing "
        "goes through confirm or close-unconfirmed.",
    )
    @action(detail=True, methods=["post"], url_path="status", serializer_class=s.StatusSerializer)
    def set_status(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        v = _parse(s.StatusSerializer, request)
        services.case_set_status(
            actor=_user(request), case=case, status=v["status"], expected_version=v.get("expected_version")
        )
        return Response(self._detail(case))

    # -------------------------------------------------------------- files and history

    @extend_schema(
        responses={200: s.AttachmentSerializer(many=True), **READ_ERRORS},
        description="Every file on the case, from messages and notes.",
    )
    @action(detail=True, methods=["get"], serializer_class=s.AttachmentSerializer, pagination_class=None)
    def attachments(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        return Response(s.AttachmentSerializer(case.attachments.order_by("created_at", "id"), many=True).data)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **READ_ERRORS},
        parameters=[OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        description="The file, always as a download (Content-Disposition: attachment).",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)",
        serializer_class=s.AttachmentSerializer,
    )
    def attachment(self, request: Request, pk: str, attachment_id: str) -> FileResponse:
        case = self.get_object()
        att = case.attachments.filter(pk=int(attachment_id)).first()
        if att is None:
            raise Http404
        response = FileResponse(
            att.file.open("rb"), as_attachment=True, filename=att.original_name, content_type=att.content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    # -------------------------------------------------------------- sector tasks

    @extend_schema(
        methods=["GET"],
        responses={200: task_serializers.SectorTaskSerializer(many=True), **READ_ERRORS},
        description="The case's sector tasks, oldest first, with the minutes logged on each.",
    )
    @extend_schema(
        methods=["POST"],
        request=task_serializers.TaskCreateSerializer,
        responses={201: task_serializers.SectorTaskSerializer, **ERRORS},
        description=(
            "Hand a step of the case to an internal sector. The target defaults to the kind's, then the "
            "sector's; the due time follows it on the business calendar. The case waits on the sector."
        ),
    )
    @action(
        detail=True,
        methods=["get", "post"],
        serializer_class=task_serializers.TaskCreateSerializer,
        pagination_class=None,
    )
    def tasks(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            return Response(
                task_serializers.SectorTaskSerializer(task_selectors.case_tasks(case), many=True).data
            )
        v = _parse(task_serializers.TaskCreateSerializer, request)
        task = task_services.task_create(
            actor=_user(request),
            case=case,
            sector=v["sector"],
            task_kind=v["task_kind"],
            description=v["description"],
            target_minutes=v["target_minutes"],
        )
        data = task_serializers.SectorTaskSerializer(task_selectors.sector_queue_item(task.pk)).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: s.CaseEventSerializer(many=True), **READ_ERRORS},
        description="The case event log, oldest first: the source of truth for every time figure.",
    )
    @action(detail=True, methods=["get"], serializer_class=s.CaseEventSerializer, pagination_class=None)
    def events(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        qs = case.events.select_related("actor", "sector").order_by("at", "id")
        return Response(s.CaseEventSerializer(qs, many=True).data)
