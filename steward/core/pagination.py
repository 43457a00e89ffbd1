import json
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class CreatedCursorPagination(CursorPagination):
    """Stable, constant-cost paging for lists that grow: newest first, id breaks ties."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Cursor | None:
        # DRF answers a malformed cursor with 404 "Invalid cursor"; it is bad input, so a 400 with the
        # parameter named, as the list's schema documents (schemathesis found the undocumented 404).
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError({self.cursor_query_param: [exc.detail]}) from None


class CappedCountPaginator(Paginator):
    """Page numbers for lists that grow without bound, at a bounded cost.

    Up to `cap` rows are counted exactly (a COUNT over at most cap + 1 rows, whatever the table size);
    beyond that, PostgreSQL's planner estimate is used and `estimated` is True, so the page can say
    "about". A full COUNT(*) over a million cases costs hundreds of milliseconds on every page view.
    """

    cap = 1_000

    def __init__(self, object_list: Any, per_page: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.estimated = False

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not isinstance(qs, QuerySet):
            return len(qs)
        exact = qs.order_by().values("pk")[: self.cap + 1].count()
        if exact <= self.cap or connections[qs.db].vendor != "postgresql":
            if exact > self.cap:
                exact = qs.count()
            return exact
        self.estimated = True
        return max(self.cap + 1, _planner_rows(qs))


def _planner_rows(qs: QuerySet[Any]) -> int:
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connections[qs.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
