"""REST API for cases. Every write calls the same service as the web UI."""

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
from steward.customers.selectors import customers_visible_to

from . import selectors, services
from . import serializers as s
from .models import Case, Commitment

ERRORS = {400: s.ErrorSerializer, 403: s.DetailSerializer, 404: s.DetailSerializer}
VERSIONED_ERRORS = {**ERRORS, 409: s.ConflictSerializer}

LIST_FILTERS = [
    OpenApiParameter(
        "scope", str, enum=["mine", "team", "all"], description="Whose cases (default: all I may see)."
    ),
    OpenApiParameter("status", str, description="A status, or `open` for every status but closed."),
    OpenApiParameter("kind", str, enum=["question", "request", "complaint"]),
    OpenApiParameter("owner", int),
    OpenApiParameter("customer", int),
    OpenApiParameter("sector", int, description="The owner's sector."),
    OpenApiParameter("overdue", bool, description="Only cases whose next step is overdue."),
    OpenApiParameter("q", str, description="Text search in subject and customer, or a case number."),
]


def _int_or_none(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise serializers.ValidationError({"filter": [f"Expected a number, got {raw!r}."]}) from None


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


@extend_schema_view(
    list=extend_schema(
        parameters=LIST_FILTERS, responses={200: s.CaseListSerializer(many=True), 400: s.ErrorSerializer}
    ),
    retrieve=extend_schema(responses={200: s.CaseDetailSerializer, 404: s.DetailSerializer}),
)
class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Case]):
    serializer_class = s.CaseListSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    lookup_value_regex = r"[^/]+"
    filter_backends: list[Any] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Case.objects.none()
        user = _user(self.request)
        if self.action != "list":
            return Case.objects.visible_to(user)
        p = self.request.query_params
        scope = p.get("scope", "all")
        if scope not in ("mine", "team", "all"):
            raise serializers.ValidationError({"scope": ["Choose mine, team or all."]})
        filters = selectors.CaseFilters(
            scope=scope,
            status=p.get("status", ""),
            kind=p.get("kind", ""),
            owner=_int_or_none(p.get("owner")),
            customer=_int_or_none(p.get("customer")),
            sector=_int_or_none(p.get("sector")),
            overdue=p.get("overdue", "").lower() in ("1", "true", "yes"),
            q=p.get("q", "")[:200],
        )
        return selectors.case_list(user=user, filters=filters, now=timeutil.now())

    def get_object(self) -> Case:
        return selectors.case_get_for_user(_user(self.request), self.kwargs["pk"])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = self.get_object()
        return Response(self._detail(case))

    def _detail(self, case: Case) -> dict[str, Any]:
        case = (
            Case.objects.with_next_step()
            .select_related("customer", "owner", "owner__backup", "category")
            .get(pk=case.pk)
        )
        context = {
            "request": self.request,
            "ownership": selectors.case_ownership(case, user=_user(self.request), now=timeutil.now()),
            "next_step": selectors.case_next_step(case),
        }
        return s.CaseDetailSerializer(case, context=context).data

    @extend_schema(request=s.CaseCreateSerializer, responses={201: s.CaseDetailSerializer, **ERRORS})
    def create(self, request: Request) -> Response:
        data = s.CaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        user = _user(request)
        if not customers_visible_to(user).filter(pk=v["customer"].pk).exists():
            raise serializers.ValidationError({"customer": ["Unknown customer."]})
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
        return Response(self._detail(case), status=status.HTTP_201_CREATED)

    # -------------------------------------------------------------- conversation

    @extend_schema(methods=["GET"], responses={200: s.MessageSerializer(many=True), 404: s.DetailSerializer})
    @extend_schema(
        methods=["POST"],
        request={"application/json": s.ReplySerializer, "multipart/form-data": s.ReplySerializer},
        responses={201: s.MessageSerializer, **VERSIONED_ERRORS},
        description="Reply to the customer.",
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            return Response(s.MessageSerializer(case.messages.select_related("author"), many=True).data)
        data = s.ReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        msg = services.case_reply(
            actor=_user(request),
            case=case,
            body=v["body"],
            expected_version=v.get("expected_version"),
            wait_for_customer=v["wait_for_customer"],
            attachments=request.FILES.getlist("attachments"),
        )
        return Response(s.MessageSerializer(msg).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], responses={200: s.NoteSerializer(many=True), 404: s.DetailSerializer})
    @extend_schema(methods=["POST"], request=s.NoteSerializer, responses={201: s.NoteSerializer, **ERRORS})
    @action(detail=True, methods=["get", "post"])
    def notes(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            return Response(s.NoteSerializer(case.notes.select_related("author"), many=True).data)
        data = s.NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.case_add_note(actor=_user(request), case=case, body=data.validated_data["body"])
        return Response(s.NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    # -------------------------------------------------------------- ownership

    @extend_schema(methods=["GET"], responses={200: s.HandoffSerializer(many=True), 404: s.DetailSerializer})
    @extend_schema(
        methods=["POST"],
        request=s.HandoffCreateSerializer,
        responses={201: s.HandoffSerializer, **VERSIONED_ERRORS},
        description="Hand the case to a new owner, with a summary so the customer never explains twice.",
    )
    @action(detail=True, methods=["get", "post"])
    def handoffs(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            qs = case.handoffs.select_related("from_user", "to_user", "by")
            return Response(s.HandoffSerializer(qs, many=True).data)
        data = s.HandoffCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
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
        methods=["GET"], responses={200: s.CommitmentSerializer(many=True), 404: s.DetailSerializer}
    )
    @extend_schema(
        methods=["POST"],
        request=s.CommitmentCreateSerializer,
        responses={201: s.CommitmentSerializer, **ERRORS},
        description="Promise the customer a next step with a due date.",
    )
    @action(detail=True, methods=["get", "post"])
    def commitments(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            return Response(
                s.CommitmentSerializer(case.commitments.select_related("promised_by"), many=True).data
            )
        data = s.CommitmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        commitment = services.commitment_set(actor=_user(request), case=case, **data.validated_data)
        return Response(s.CommitmentSerializer(commitment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.CommitmentResolveSerializer,
        responses={200: s.CommitmentSerializer, **ERRORS},
        parameters=[OpenApiParameter("commitment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["post"], url_path=r"commitments/(?P<commitment_id>[0-9]+)/resolve")
    def resolve_commitment(self, request: Request, pk: str, commitment_id: str) -> Response:
        case = self.get_object()
        commitment = Commitment.objects.filter(case=case, pk=int(commitment_id)).first()
        if commitment is None:
            raise Http404
        data = s.CommitmentResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        commitment = services.commitment_resolve(
            actor=_user(request), commitment=commitment, **data.validated_data
        )
        return Response(s.CommitmentSerializer(commitment).data)

    # -------------------------------------------------------------- solution and status

    @extend_schema(
        request=s.ProposeSerializer,
        responses={200: s.CaseDetailSerializer, **VERSIONED_ERRORS},
        description="Propose a solution. The case stays open until the customer confirms it.",
    )
    @action(detail=True, methods=["post"])
    def propose(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        data = s.ProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
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
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        data = s.ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.case_confirm_solution(actor=_user(request), case=case, **data.validated_data)
        return Response(self._detail(case))

    @extend_schema(
        request=s.ReasonSerializer,
        responses={200: s.CaseDetailSerializer, **ERRORS},
        description="A manager closes the case without the customer's confirmation, with a reason.",
    )
    @action(detail=True, methods=["post"], url_path="close-unconfirmed")
    def close_unconfirmed(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.case_close_unconfirmed(actor=_user(request), case=case, reason=data.validated_data["reason"])
        return Response(self._detail(case))

    @extend_schema(request=s.ReasonSerializer, responses={200: s.CaseDetailSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.case_reopen(actor=_user(request), case=case, reason=data.validated_data["reason"])
        return Response(self._detail(case))

    @extend_schema(
        request=s.RepeatExplanationSerializer,
        responses={201: s.CaseEventSerializer, **ERRORS},
        description="Record that the customer had to explain the reason of contact again.",
    )
    @action(detail=True, methods=["post"], url_path="repeat-explanation")
    def repeat_explanation(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        data = s.RepeatExplanationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.case_flag_repeat_explanation(actor=_user(request), case=case, **data.validated_data)
        return Response(s.CaseEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.StatusSerializer, responses={200: s.CaseDetailSerializer, **VERSIONED_ERRORS})
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        data = s.StatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.case_set_status(
            actor=_user(request), case=case, status=v["status"], expected_version=v.get("expected_version")
        )
        return Response(self._detail(case))

    @extend_schema(responses={200: s.AttachmentSerializer(many=True), 404: s.DetailSerializer})
    @action(detail=True, methods=["get"])
    def attachments(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        return Response(s.AttachmentSerializer(case.attachments.all(), many=True).data)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, 404: s.DetailSerializer},
        parameters=[OpenApiParameter("attachment_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        description="The file, always as a download (Content-Disposition: attachment).",
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]+)")
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

    @extend_schema(
        responses={200: s.CaseEventSerializer(many=True), 404: s.DetailSerializer},
        description="The case event log, oldest first: the source of truth for every time figure.",
    )
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: str) -> Response:
        case = self.get_object()
        qs = case.events.select_related("actor", "sector").order_by("at", "id")
        return Response(s.CaseEventSerializer(qs, many=True).data)
