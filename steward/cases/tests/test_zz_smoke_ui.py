import pytest


@pytest.mark.django_db
def test_pages(client, personas):
    client.force_login(personas.adviser)
    r = client.get("/en/cases/")
    assert r.status_code == 200, r.content[:2000]
    r = client.get(f"/en/cases/{personas.case.pk}/")
    assert r.status_code == 200, r.content[:3000]
    r = client.get("/en/cases/new/")
    assert r.status_code == 200
    r = client.post(
        f"/en/cases/{personas.case.pk}/handoff/",
        {
            "expected_version": 1,
            "to_user": personas.other_adviser.pk,
            "customer_need": "x",
            "done_so_far": "y",
        },
    )
    assert r.status_code in (400, 409), r.status_code
    print(r.status_code)
