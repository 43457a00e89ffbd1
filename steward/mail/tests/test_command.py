"""`manage.py ingest_mail FILE...` and `ingest_mail -` (a mail server pipe)."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command

from steward.mail.models import InboundMail

from .helpers import make_mail

pytestmark = pytest.mark.django_db
EML = Path(__file__).parent / "eml"


def run(*args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    fake_stdin = mock.Mock(buffer=io.BytesIO(stdin))
    with mock.patch.object(sys, "stdin", fake_stdin):
        try:
            call_command("ingest_mail", *args, stdout=out, stderr=err)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_files_are_received_one_line_each_and_quarantine_still_exits_0(personas):
    code, out, err = run(
        str(EML / "utf8_thai.eml"), str(EML / "garbage.eml"), str(EML / "auto_submitted.eml")
    )
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert len(lines) == 3
    assert lines[0].startswith(f"{EML / 'utf8_thai.eml'}: processed case #")
    assert lines[1] == f"{EML / 'garbage.eml'}: quarantined (no headers)"
    assert "ignored_auto (Auto-Submitted: auto-replied)" in lines[2]
    assert InboundMail.objects.count() == 3


def test_standard_input_is_read_with_a_dash(personas):
    code, out, _ = run("-", stdin=make_mail(sender="pipe@example.net", subject="Via the pipe"))
    assert code == 0 and out.startswith("-: processed case #")
    assert InboundMail.objects.get().subject == "Via the pipe"


def test_a_missing_file_exits_66_and_the_others_are_still_received(personas, tmp_path):
    code, out, err = run(str(tmp_path / "missing.eml"), str(EML / "base64.eml"))
    assert code == 66 and "cannot read" in err
    assert "processed" in out and InboundMail.objects.count() == 1


def test_an_unexpected_failure_exits_75_so_the_mail_server_retries(personas):
    with mock.patch(
        "steward.mail.management.commands.ingest_mail.mail_receive", side_effect=RuntimeError("db down")
    ):
        code, _, err = run(str(EML / "base64.eml"))
    assert code == 75 and "NOT stored" in err and "db down" in err
