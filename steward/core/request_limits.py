"""A request body larger than STEWARD_REQUEST_MAX_BYTES is refused with a 413 before it is read.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not count uploaded files, so without this a request could
carry 20 files of 10 MB each. The reverse proxy should have the same limit (client_max_body_size).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.STEWARD_REQUEST_MAX_BYTES
        if length > limit:
            message = _("The request is too large: the limit is %(limit)d MB.") % {
                "limit": limit // (1024 * 1024)
            }
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
