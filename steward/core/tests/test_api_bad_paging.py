"""A malformed cursor or a page past the end is bad input: a 400 naming the parameter, not a 404.

Found by schemathesis (tests/test_api_schemathesis.py): DRF's paginators answer 404, which the schema
does not document for lists (a list that exists is never "not found").
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(personas) -> APIClient:
    client = APIClient()
    client.force_authenticate(personas.adviser)
    return client


def test_a_malformed_cursor_is_a_400_naming_the_cursor(api):
    response = api.get("/api/v1/cases/", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert set(response.json()) == {"cursor"}


def test_a_page_past_the_end_of_the_queue_is_a_400_naming_the_page(api, personas):
    response = api.get("/api/v1/tasks/", {"page": 69, "sector": personas.front_desk.pk})
    assert response.status_code == 400
    assert set(response.json()) == {"page"}
    assert api.get("/api/v1/tasks/", {"page": 1}).status_code == 200
