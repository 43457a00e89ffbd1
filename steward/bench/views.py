"""The two ceilings the benchmark compares every page with (only routed when STEWARD_BENCH=1).

They go through the same stack as every page (gunicorn, middleware, database connection), so a ratio to
them says how much a page costs beyond the framework itself.
"""

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .models import BenchWrite


@require_GET
def ceiling_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@csrf_exempt  # the ceiling measures one INSERT, not the CSRF check (the page scenarios keep theirs)
@require_POST
def ceiling_insert(request: HttpRequest) -> JsonResponse:
    row = BenchWrite.objects.create(note="ceiling", created_at=timezone.now())
    return JsonResponse({"id": row.pk}, status=201)
