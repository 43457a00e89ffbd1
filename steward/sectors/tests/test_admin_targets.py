"""Targets and holidays are edited in the admin; a new sector keeps the default target typed in."""

from __future__ import annotations

import pytest

from steward.sectors.models import Holiday, Sector

pytestmark = pytest.mark.django_db


def test_admin_creates_a_sector_with_task_kinds_and_a_default_target(admin_client):
    response = admin_client.post(
        "/en/admin/sectors/sector/add/",
        {
            "name": "Returns desk",
            "distance": 3,
            "description": "",
            "default_task_target_minutes": 240,
            "task_kinds-TOTAL_FORMS": 1,
            "task_kinds-INITIAL_FORMS": 0,
            "task_kinds-0-name": "Inspect returned unit",
            "task_kinds-0-target_minutes": 120,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    sector = Sector.objects.get(name="Returns desk")
    assert sector.default_task_target_minutes == 240
    assert sector.task_kinds.get().target_minutes == 120


def test_admin_records_a_holiday(admin_client):
    response = admin_client.post(
        "/en/admin/sectors/holiday/add/", {"date": "2026-12-25", "name": "Christmas"}
    )
    assert response.status_code == 302
    assert Holiday.objects.get().name == "Christmas"
