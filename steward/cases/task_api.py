"""REST API for sector tasks. Every write calls the same task service as the web UI.

A task the caller may not see is a 404; a step the caller may see but not take (not a member of the
task's sector, not the case owner) is a 403; a step the task's state refuses is a 400.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from . import task_selectors as ts
from . import task_serializers as t
from . import task_services
from .api import ERRORS, READ_ERRORS, _parse, _user
from .models import SectorTask
from .serializers import ErrorSerializer


def _fresh(task: SectorTask) -> dict[str, Any]:
    """The task after a step, with its logged minutes."""
    task = ts.sector_queue_item(task.pk)
    return dict(t.SectorTaskSerializer(task).data)


class QueuePagination(PageNumberPagination):
    """Page numbers: the queue is ordered by state and due time, which a cursor on creation would lose."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        # DRF answers a page past the end (or not a number) with 404 "Invalid page"; it is bad input in
        # a query parameter, so a 400 naming it, as documented (schemathesis found the undocumented 404).
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError({self.page_query_param: [exc.detail]}) from None


@extend_schema_view(
    list=extend_schema(
        parameters=[t.TaskFilterSerializer],
        responses={200: t.SectorTaskSerializer(many=True), 400: ErrorSerializer},
        description=(
            "The caller's sector queue: open tasks, queued first, by due time (managers: every sector, "
            "or `sector`); `ended=true` adds done, returned and cancelled tasks."
        ),
    ),
    retrieve=extend_schema(responses={200: t.SectorTaskSerializer, **READ_ERRORS}, description="One task."),
)
class SectorTaskViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[SectorTask]
):
    serializer_class = t.SectorTaskSerializer
    pagination_class = QueuePagination
    lookup_value_regex = r"[^/]+"
    filter_backends: list[Any] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return SectorTask.objects.none()
        params = t.TaskFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        v = params.validated_data
        filters = ts.QueueFilters(sector=v.get("sector"), include_ended=v["ended"])
        return ts.sector_queue(user=_user(self.request), filters=filters)

    def get_object(self) -> SectorTask:
        return ts.task_get_for_user(_user(self.request), self.kwargs["pk"])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(_fresh(self.get_object()))

    @extend_schema(
        request=None,
        responses={200: t.SectorTaskSerializer, **ERRORS},
        description="Take a queued task (members of its sector). Of two members taking it at once, one wins.",
    )
    @action(detail=True, methods=["post"], serializer_class=t.EmptySerializer)
    def take(self, request: Request, pk: str) -> Response:
        task = task_services.task_take(actor=_user(request), task=self.get_object())
        return Response(_fresh(task))

    @extend_schema(
        request=t.LogWorkSerializer,
        responses={201: t.WorkLogSerializer, **ERRORS},
        description="Log minutes of work on a task in progress (members of its sector).",
    )
    @action(detail=True, methods=["post"], serializer_class=t.LogWorkSerializer)
    def log(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        v = _parse(t.LogWorkSerializer, request)
        log = task_services.task_log_work(
            actor=_user(request), task=task, minutes=v["minutes"], note=v["note"]
        )
        return Response(t.WorkLogSerializer(log).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=t.CompleteSerializer,
        responses={200: t.SectorTaskSerializer, **ERRORS},
        description="Complete a task in progress, with its result (members of its sector).",
    )
    @action(detail=True, methods=["post"], serializer_class=t.CompleteSerializer)
    def complete(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        v = _parse(t.CompleteSerializer, request)
        return Response(_fresh(task_services.task_complete(actor=_user(request), task=task, note=v["note"])))

    @extend_schema(
        request=t.ReturnSerializer,
        responses={200: t.SectorTaskSerializer, **ERRORS},
        description="Return the task to the sender with a reason (members of its sector).",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="return",
        url_name="return",
        serializer_class=t.ReturnSerializer,
    )
    def return_task(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        v = _parse(t.ReturnSerializer, request)
        return Response(
            _fresh(task_services.task_return(actor=_user(request), task=task, reason=v["reason"]))
        )

    @extend_schema(
        request=t.CancelSerializer,
        responses={200: t.SectorTaskSerializer, **ERRORS},
        description="Withdraw a step that is no longer needed (the case owner, acting backup or a manager).",
    )
    @action(detail=True, methods=["post"], serializer_class=t.CancelSerializer)
    def cancel(self, request: Request, pk: str) -> Response:
        task = self.get_object()
        v = _parse(t.CancelSerializer, request)
        return Response(
            _fresh(task_services.task_cancel(actor=_user(request), task=task, reason=v["reason"]))
        )
