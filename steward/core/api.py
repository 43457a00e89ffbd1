"""API plumbing shared by every app: domain errors become 400s with field messages."""

from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, NotPermitted, StaleVersion


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, StaleVersion):
        body: dict[str, Any] = exc.as_dict()
        body["current_version"] = exc.current_version
        body["changes"] = [str(c) for c in exc.changes]
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, NotPermitted):
        # The caller can see the object (else the lookup was a 404) but may not act on it.
        return Response({"detail": str(exc.message)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        return Response({"non_field_errors": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, SuspiciousOperation):
        # Too many files or fields in one request: Django's limits, answered as JSON like any bad input.
        return Response({"non_field_errors": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


# Answers any operation can give before its view runs: the authentication, throttle and parser layers.
# Documented on every operation by this schema hook, so a client (and schemathesis' status code check)
# knows them; each view documents its own 400/403/404/409.
_COMMON_RESPONSES = {
    "401": "Not signed in: no token, or a token that is not valid (any more).",
    "429": "Too many requests: wait the seconds given in the Retry-After header.",
}
_BODY_RESPONSES = {"415": "The request body's media type is not one this operation accepts."}


def schema_common_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the common error answers to every operation."""
    detail = {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            security = operation.get("security") or [{}]
            anonymous = {} in security  # no authentication asked (the token endpoint): never a 401
            extra = {k: v for k, v in _COMMON_RESPONSES.items() if not (anonymous and k == "401")}
            if "requestBody" in operation:
                extra.update(_BODY_RESPONSES)
            for code, description in extra.items():
                operation["responses"].setdefault(code, {"content": detail, "description": description})
    return result
