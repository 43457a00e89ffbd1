"""schemathesis against /api/schema/: generated requests to every API operation, in-process (WSGI).

Checks: no 5xx, every status code answered is documented for that operation, and every body matches
the documented schema. Requests carry an adviser's token and, half the time, path ids of seeded
objects the adviser may act on, so the generated bodies reach real cases, commitments, tasks and
attachments, not only 404s.

Run by scripts/test.sh as its own step (`STEWARD_API_FUZZ=1`), once, bounded by the example counts
below (about half a minute); the ordinary suite skips it.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from steward.cases.models import Attachment
from steward.cases.services import case_reply, commitment_set
from steward.cases.task_services import task_create
from steward.core import timeutil
from steward.testing import Personas

pytestmark = pytest.mark.skipif(
    os.environ.get("STEWARD_API_FUZZ") != "1",
    reason="API fuzzing runs as its own step of scripts/test.sh (STEWARD_API_FUZZ=1)",
)

# No 5xx, only documented status codes, and bodies as the schema documents them.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("STEWARD_API_FUZZ_EXAMPLES", "10"))  # per operation and mode


@pytest.fixture
def seeded(personas: Personas) -> dict[str, Any]:
    """Objects the adviser may act on, and their token."""
    case = personas.case
    case_reply(
        actor=personas.adviser,
        case=case,
        body="Here is the label.",
        attachments=[SimpleUploadedFile("label.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n", "application/pdf")],
    )
    commitment = commitment_set(
        actor=personas.adviser,
        case=case,
        description="Call back with the repair date.",
        due_at=timeutil.now() + timedelta(days=1),
    )
    task = task_create(
        actor=personas.adviser, case=case, sector=personas.billing, description="Refund the shipping fee."
    )
    token = Token.objects.create(user=personas.adviser)
    return {
        "headers": {"Authorization": f"Token {token.key}"},
        "ids": {
            "id": case.pk,
            "attachment_id": Attachment.objects.filter(case=case).values_list("pk", flat=True)[0],
            "commitment_id": commitment.pk,
        },
        "task_id": task.pk,
    }


def test_api_answers_no_server_error_and_only_documented_status_codes(seeded: dict[str, Any]) -> None:
    # A plain loop over the operations (schemathesis' pytest plugin does not support this pytest).
    api = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 30

    failures: list[str] = []
    answered: Counter[int] = Counter()
    for operation in operations:
        real = dict(
            seeded["ids"], id=seeded["task_id"] if "/tasks/" in operation.path else seeded["ids"]["id"]
        )
        real = {p.name: real[p.name] for p in operation.path_parameters if p.name in real}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Generated ids alone would nearly always be a 404: half the examples use real objects.
            strategy = operation.as_strategy(mode)
            if real:
                strategy = strategy | operation.as_strategy(mode, path_parameters=real)

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES if mode == GenerationMode.POSITIVE else EXAMPLES // 2,
                deadline=None,
                derandomize=True,  # the same requests every run: failures reproduce, the time is bounded
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def check(case: Any) -> None:
                response = case.call(headers=seeded["headers"])
                answered[response.status_code] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid (only a path id, any string is a valid one)
                assert mode == GenerationMode.NEGATIVE, operation.label
            except (
                Exception,
                BaseExceptionGroup,
            ) as exc:  # every operation runs; the report lists each failing one
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    print("status codes answered:", dict(sorted(answered.items())))
    assert not failures, "\n\n".join(failures)
