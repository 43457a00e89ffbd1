"""IMAP polling against a real server on loopback: Debian's dovecot, started in a temporary folder.

scripts/test.sh installs `dovecot-imapd` with apt when run as root; elsewhere these tests are skipped
with the reason. Recipe: the project's stack notes (stack.md §5b).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from imap_tools import AND, MailBoxUnencrypted

from steward.cases.models import Case
from steward.cases.signals import case_event_recorded
from steward.mail import services
from steward.mail.models import InboundMail, InboundState
from steward.mail.tasks import poll_imap

from .helpers import make_mail

EML = Path(__file__).parent / "eml"
PASSWORD = "secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.path.exists(p)), None
    )


@pytest.fixture(scope="module")
def imap_port() -> Iterator[int]:
    binary = _dovecot_binary()
    if binary is None:
        pytest.skip("dovecot-imapd is not installed (scripts/test.sh installs it with apt when run as root)")
    root = Path(tempfile.mkdtemp(prefix="steward-imap-"))
    (root / "mail").mkdir()
    (root / "run").mkdir()
    if os.geteuid() == 0:  # dovecot refuses mail access as root: the mail belongs to nobody
        owner = "uid=nobody gid=nogroup"
        shutil.chown(root / "mail", "nobody", "nogroup")
        extra = ""
    else:
        me = pwd.getpwuid(os.getuid()).pw_name
        owner = f"uid={os.getuid()} gid={os.getgid()}"
        extra = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
    root.chmod(0o755)
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(
        f"""base_dir = {root}/run
state_dir = {root}/run
log_path = {root}/dovecot.log
{extra}protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
mail_location = maildir:{root}/mail/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = {owner} home={root}/mail/%u
}}
"""
    )
    # In the foreground (-F), so this test owns the process and reaps it; output to a file.
    log = open(root / "start.log", "wb")  # noqa: SIM115 - closed in the finally below
    server = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):  # wait until it accepts connections (readiness, not a timing assertion)
            if server.poll() is not None:
                reason = (root / "start.log").read_text(errors="replace").strip()[:300]
                pytest.skip(f"dovecot would not start here: {reason}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox_user(imap_port, settings, request) -> str:
    """A fresh mailbox per test (any user name logs in) and the settings pointing at it."""
    user = f"support{abs(hash(request.node.name)) % 10**8}"
    settings.STEWARD_IMAP_HOST = "127.0.0.1"
    settings.STEWARD_IMAP_PORT = imap_port
    settings.STEWARD_IMAP_SSL = False
    settings.STEWARD_IMAP_USER = user
    settings.STEWARD_IMAP_PASSWORD = PASSWORD
    settings.STEWARD_IMAP_FOLDER = "INBOX"
    return user


def _box(port: int, user: str) -> MailBoxUnencrypted:
    return MailBoxUnencrypted("127.0.0.1", port).login(user, PASSWORD, "INBOX")


def _append(port: int, user: str, *messages: bytes) -> None:
    with _box(port, user) as box:
        for raw in messages:
            box.append(raw, "INBOX")


def _seen_by_subject(port: int, user: str) -> dict[str, bool]:
    with _box(port, user) as box:
        return {
            m.subject: "\\Seen" in m.flags
            for m in box.fetch(AND(all=True), mark_seen=False, headers_only=True)
        }


@pytest.mark.django_db(transaction=True)
def test_poll_stores_every_message_and_flags_it_seen_only_after_commit(personas, imap_port, mailbox_user):
    _append(
        imap_port,
        mailbox_user,
        make_mail(sender="imap.customer@example.net", subject="สวัสดี from IMAP", body="My router is down."),
        (EML / "auto_submitted.eml").read_bytes(),
        (EML / "no_sender.eml").read_bytes(),
    )
    seen_during_transaction: list[dict[str, bool]] = []

    def look_from_outside(sender, event, **kwargs):  # runs inside mail_receive's transaction
        seen_during_transaction.append(_seen_by_subject(imap_port, mailbox_user))

    case_event_recorded.connect(look_from_outside, weak=False)
    try:
        result = poll_imap()
    finally:
        case_event_recorded.disconnect(look_from_outside)

    assert result == {"stored": 3, "failed": 0}
    assert seen_during_transaction and all(not s["สวัสดี from IMAP"] for s in seen_during_transaction)
    states = dict(InboundMail.objects.values_list("subject", "state"))
    assert states == {
        "สวัสดี from IMAP": InboundState.PROCESSED,
        "Re: your request": InboundState.IGNORED_AUTO,
        "Who am I?": InboundState.QUARANTINED,  # stored, so it is flagged seen too
    }
    case = Case.objects.get(customer__email="imap.customer@example.net")
    assert case.messages.get().body == "My router is down."
    assert all(_seen_by_subject(imap_port, mailbox_user).values())
    assert poll_imap() == {"stored": 0, "failed": 0}  # nothing unseen is left


@pytest.mark.django_db(transaction=True)
def test_a_message_whose_processing_fails_stays_unseen_and_is_retried(personas, imap_port, mailbox_user):
    _append(
        imap_port,
        mailbox_user,
        make_mail(sender="ok@example.net", subject="fine"),
        make_mail(sender="poison@example.net", subject="poison"),
    )
    real = services.mail_receive

    def fails_on_poison(*, raw: bytes, at=None):
        inbound = real(raw=raw, at=at)
        if b"poison" in raw:
            raise RuntimeError("database went away")  # after writing: the transaction rolls back
        return inbound

    # The outer atomic block makes the failure roll back what mail_receive wrote, as a failure
    # inside its own transaction (or a failed commit) would.
    with mock.patch("steward.mail.tasks.mail_receive", side_effect=_atomic(fails_on_poison)):
        assert poll_imap() == {"stored": 1, "failed": 1}
    assert _seen_by_subject(imap_port, mailbox_user) == {"fine": True, "poison": False}
    assert not InboundMail.objects.filter(from_address="poison@example.net").exists()

    assert poll_imap() == {"stored": 1, "failed": 0}  # the next poll receives it
    assert _seen_by_subject(imap_port, mailbox_user) == {"fine": True, "poison": True}
    assert InboundMail.objects.get(from_address="poison@example.net").state == InboundState.PROCESSED


def _atomic(func):
    from django.db import transaction

    def wrapper(**kwargs):
        with transaction.atomic():
            return func(**kwargs)

    return wrapper
