"""Administrators see inbound mail (quarantined first among the states) and download the raw .eml."""

from __future__ import annotations

from pathlib import Path

import pytest

from steward.accounts.models import Role
from steward.mail.models import InboundMail, InboundState
from steward.mail.services import mail_receive
from steward.testing import make_user

pytestmark = pytest.mark.django_db
EML = Path(__file__).parent / "eml"


@pytest.fixture
def administrator(db):
    return make_user("admin1", role=Role.ADMIN)  # administrators are staff


def test_administrator_lists_quarantined_mail_with_reason_and_downloads_the_raw_message(
    client, administrator, django_assert_max_num_queries
):
    raw = (EML / "no_sender.eml").read_bytes()
    inbound = mail_receive(raw=raw)
    auto = (EML / "auto_submitted.eml").read_bytes()
    for i in range(5):
        mail_receive(raw=auto.replace(b"corpus-autosub", f"auto-{i}".encode()))
    client.force_login(administrator)
    with django_assert_max_num_queries(12):
        page = client.get("/en/admin/mail/inboundmail/?state=quarantined")
    assert page.status_code == 200
    content = page.content.decode()
    assert "no sender address (From)" in content and "Download .eml" in content
    download = client.get(f"/en/admin/mail/inboundmail/{inbound.pk}/raw/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == raw
    assert InboundMail.objects.filter(state=InboundState.IGNORED_AUTO).count() == 5


def test_inbound_mail_cannot_be_changed_or_deleted_in_the_admin(client, administrator):
    inbound = mail_receive(raw=(EML / "garbage.eml").read_bytes())
    client.force_login(administrator)
    assert client.get(f"/en/admin/mail/inboundmail/{inbound.pk}/change/").status_code == 200  # read-only view
    assert client.post(f"/en/admin/mail/inboundmail/{inbound.pk}/delete/").status_code == 403
    assert client.get("/en/admin/mail/inboundmail/add/").status_code == 403
    assert InboundMail.objects.filter(pk=inbound.pk).exists()


def test_other_staff_cannot_see_inbound_mail_or_its_raw_bytes(client, db):
    inbound = mail_receive(raw=(EML / "garbage.eml").read_bytes())
    manager = make_user("staffmanager", role=Role.MANAGER)
    manager.is_staff = True  # even with access to the admin site, only administrators see mail
    manager.save(update_fields=["is_staff"])
    client.force_login(manager)
    assert client.get("/en/admin/mail/inboundmail/").status_code == 403
    assert client.get(f"/en/admin/mail/inboundmail/{inbound.pk}/raw/").status_code == 404


def test_administrator_receives_quarantined_mail_again_once_it_can_be_processed(client, administrator):
    # Nobody can own a new case yet (the administrator owns none): the mail is quarantined.
    inbound = mail_receive(raw=(EML / "utf8_thai.eml").read_bytes())
    assert inbound.state == InboundState.QUARANTINED
    make_user("first_adviser")
    client.force_login(administrator)
    response = client.post(
        "/en/admin/mail/inboundmail/",
        {"action": "receive_again", "_selected_action": [inbound.pk]},
        follow=True,
    )
    assert response.status_code == 200
    inbound.refresh_from_db()
    assert inbound.state == InboundState.PROCESSED and inbound.case is not None
    assert inbound.case.customer.email == "somchai.utf8@example.net"
    assert inbound.raw  # the original stays with the record


def test_only_administrators_may_receive_mail_again(db):
    from steward.core.errors import NotPermitted
    from steward.mail.services import mail_retry

    inbound = mail_receive(raw=(EML / "garbage.eml").read_bytes())
    with pytest.raises(NotPermitted):
        mail_retry(actor=make_user("someone", role=Role.MANAGER), inbound=inbound)
    still = mail_retry(actor=make_user("admin2", role=Role.ADMIN), inbound=inbound)
    assert still.state == InboundState.QUARANTINED and still.reason == "no headers"
