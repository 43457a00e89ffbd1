from rest_framework.pagination import CursorPagination


class CreatedCursorPagination(CursorPagination):
    """Stable, constant-cost paging for lists that grow: newest first, id breaks ties."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200
