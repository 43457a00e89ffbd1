"""Property-based tests over inbound mail: whatever arrives, `mail_receive` never raises and every raw
message is accounted for.

The mails are built the way clients (and broken clients) write them: encoded-word and raw 8-bit
headers in many charsets, known and unknown transfer encodings, multipart bodies with attachments,
case tokens and thread ids of real and made-up cases, automatic-mail headers, resent Message-IDs,
and the same bytes mangled (truncated, bytes flipped, NULs). Several mails per example, so threading
and duplicate detection see each other's rows.

The outcome of each raw message: a case message (processed), quarantine with its raw bytes and the
reason, or one of the deliberate "ignored" outcomes (automatic mail, a duplicate, a staff address),
each with its reason. Runs on both databases: PostgreSQL is the stricter one (NUL characters, lengths).
"""

from __future__ import annotations

import base64
import quopri
from email.header import Header
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from steward.cases.models import Attachment, Channel, Direction, Message
from steward.mail import identity
from steward.mail.models import InboundMail, InboundState
from steward.mail.services import mail_receive

pytestmark = pytest.mark.django_db

CHARSETS = ["utf-8", "tis-620", "windows-874", "koi8-r", "windows-1251", "iso-8859-1", "utf-16", "x-unknown"]
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("สวัสดีПривет ñ\x00\r\n\t<>\"'="),
    max_size=40,
)


def _encode(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset if charset != "x-unknown" else "utf-8", errors="replace")
    except LookupError:
        return text.encode("utf-8", errors="replace")


@st.composite
def header_text(draw: st.DrawFn) -> bytes:
    """A header value as clients write it: ASCII, an encoded word, raw 8-bit bytes, or garbage."""
    text = draw(TEXT)
    charset = draw(st.sampled_from(CHARSETS))
    how = draw(st.sampled_from(["ascii", "word-b", "word-q", "header", "raw", "binary"]))
    if how == "ascii":
        return text.encode("ascii", errors="replace")
    if how == "word-b":
        return b"=?" + charset.encode() + b"?B?" + base64.b64encode(_encode(text, charset)) + b"?="
    if how == "word-q":
        return (
            b"=?"
            + charset.encode()
            + b"?Q?"
            + quopri.encodestring(_encode(text, charset), header=True)
            + b"?="
        )
    if how == "header":
        try:
            return (
                Header(text, charset if charset not in ("x-unknown", "utf-16") else "utf-8").encode().encode()
            )
        except Exception:
            return text.encode("utf-8", errors="replace")
    if how == "raw":
        return _encode(text, charset)
    return draw(st.binary(max_size=40))


@st.composite
def sender(draw: st.DrawFn) -> bytes:
    local = draw(st.sampled_from(["somchai", "ivan", "ana.maria", "x", "a+tag", "very.long" * 20]))
    domain = draw(st.sampled_from(["example.com", "example.net", "xn--12c.example", "EXAMPLE.org"]))
    address = f"{local}@{domain}".encode()
    how = draw(st.sampled_from(["bare", "named", "angle", "bare", "named", "staff", "none", "garbage"]))
    if how == "bare":
        return address
    if how == "named":
        return draw(header_text()) + b" <" + address + b">"
    if how == "angle":
        return b"<" + address + b">"
    if how == "staff":
        return b"adviser@staff.example"
    if how == "none":
        return b""
    return draw(st.binary(max_size=30))


@st.composite
def thread_id(draw: st.DrawFn, case_number: int) -> bytes:
    number = draw(st.sampled_from([case_number, case_number + 10_000, 0]))
    return draw(
        st.sampled_from(
            [
                identity.new_message_id(number).encode(),
                b"<earlier@client.example>",
                b"<" + draw(st.binary(max_size=20)) + b">",
                b"not-an-id",
            ]
        )
    )


@st.composite
def body_part(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """(content headers, encoded payload) of a leaf part."""
    content_type = draw(
        st.sampled_from(
            ["text/plain", "text/html", "application/pdf", "image/png", "application/octet-stream", "x/y"]
        )
    )
    charset = draw(st.sampled_from(CHARSETS))
    if content_type.startswith("text/"):
        text = draw(TEXT)
        if content_type == "text/html":
            text = f"<p>{text}</p><script>alert(1)</script>"
        data = _encode(text, charset)
    else:
        data = draw(st.sampled_from([b"%PDF-1.4\n1 0 obj\n", b"\x89PNG\r\n\x1a\n", b""])) + draw(
            st.binary(max_size=60)
        )
    encoding = draw(st.sampled_from(["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "bogus"]))
    payload = (
        base64.encodebytes(data)
        if encoding == "base64"
        else quopri.encodestring(data)
        if encoding == "quoted-printable"
        else data
    )
    if draw(st.booleans()):  # broken encoding: cut the payload
        payload = payload[: draw(st.integers(0, len(payload)))]
    headers = [
        b"Content-Type: " + content_type.encode() + b"; charset=" + charset.encode(),
        b"Content-Transfer-Encoding: " + encoding.encode(),
    ]
    disposition = draw(st.sampled_from(["", "inline", "attachment"]))
    if disposition:
        name = draw(
            st.one_of(st.just(b""), header_text(), st.sampled_from([b"..", b"a/../../b.pdf", b"x" * 300]))
        )
        headers.append(b"Content-Disposition: " + disposition.encode() + b'; filename="' + name + b'"')
    return headers, payload


@st.composite
def raw_mail(draw: st.DrawFn, case_number: int) -> bytes:
    headers: list[bytes] = []
    if draw(st.integers(0, 9)):
        headers.append(b"From: " + draw(sender()))
    headers.append(b"To: support@steward.localhost")
    subject = draw(header_text())
    if draw(st.booleans()):
        token = identity.case_token(draw(st.sampled_from([case_number, case_number + 10_000]))).encode()
        subject = b"Re: " + subject + b" " + token
    headers.append(b"Subject: " + subject)
    message_id = draw(
        st.one_of(
            # A small pool, so the mails of one example resend each other's Message-ID.
            st.builds(lambda n: f"<m{n}@client.example>".encode(), st.integers(0, 3)),
            st.just(b""),
            st.binary(max_size=20),
        )
    )
    if message_id:
        headers.append(b"Message-ID: " + message_id)
    for name in ("In-Reply-To", "References"):
        if draw(st.booleans()):
            headers.append(
                name.encode() + b": " + b" ".join(draw(st.lists(thread_id(case_number), max_size=3)))
            )
    if not draw(st.integers(0, 5)):
        headers.append(
            draw(
                st.sampled_from(
                    [
                        b"Auto-Submitted: auto-replied",
                        b"Precedence: bulk",
                        b"X-Autoreply: yes",
                        b"Content-Type: multipart/report; report-type=delivery-status",
                    ]
                )
            )
        )
    headers.append(b"Date: " + draw(st.sampled_from([b"Mon, 23 Nov 2026 10:00:00 +0700", b"yesterday", b""])))
    parts = draw(st.lists(body_part(), min_size=1, max_size=3))
    if len(parts) == 1 and draw(st.booleans()):
        part_headers, payload = parts[0]
        raw = b"\r\n".join(headers + part_headers) + b"\r\n\r\n" + payload
    else:
        boundary = b"==b" + str(draw(st.integers(0, 999))).encode()
        kind = draw(st.sampled_from([b"mixed", b"alternative", b"related"]))
        headers.append(b"MIME-Version: 1.0")
        headers.append(b"Content-Type: multipart/" + kind + b'; boundary="' + boundary + b'"')
        body = b"".join(
            b"--" + boundary + b"\r\n" + b"\r\n".join(h) + b"\r\n\r\n" + p + b"\r\n" for h, p in parts
        )
        if draw(st.booleans()):
            body += b"--" + boundary + b"--\r\n"  # else: no closing boundary
        raw = b"\r\n".join(headers) + b"\r\n\r\n" + body
    mangle = draw(st.sampled_from(["none", "none", "truncate", "flip", "nul", "bare-lf"]))
    if mangle == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif mangle == "flip" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    elif mangle == "nul":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + b"\x00" + raw[at:]
    elif mangle == "bare-lf":
        raw = raw.replace(b"\r\n", b"\n")
    return raw


def _assert_accounted_for(inbound: InboundMail, raw: bytes) -> None:
    """Each raw message: a case message, quarantine with its bytes, or an ignored row with its reason."""
    inbound.refresh_from_db()
    if inbound.state == InboundState.PROCESSED:
        assert inbound.case_message_id is not None
        message = Message.objects.select_related("case__customer").get(pk=inbound.case_message_id)
        assert message.case_id == inbound.case_id
        assert message.direction == Direction.INBOUND and message.channel == Channel.EMAIL
        assert message.body.strip()
        assert message.case.customer.email == inbound.from_address
    elif inbound.state == InboundState.QUARANTINED:
        assert inbound.reason
        with inbound.raw.open("rb") as stored:
            assert stored.read() == raw
    else:
        assert inbound.state in (
            InboundState.IGNORED_AUTO,
            InboundState.IGNORED_DUPLICATE,
            InboundState.IGNORED_STAFF,
        ), inbound.state
        assert inbound.reason
        assert inbound.case_message_id is None
        if inbound.state == InboundState.IGNORED_DUPLICATE:
            assert inbound.duplicate_of_id is not None


@pytest.fixture
def staff_address(personas: Any, settings: Any) -> Any:
    personas.adviser.email = "adviser@staff.example"
    personas.adviser.save(update_fields=["email"])
    settings.STEWARD_MAIL_SENDER_HOURLY_LIMIT = 10_000  # the loop guard is tested elsewhere
    return personas


@hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_every_raw_message_ends_as_a_case_message_in_quarantine_or_ignored_with_a_reason(
    staff_address: Any, data: st.DataObject
) -> None:
    case_number = staff_address.case.number
    with transaction.atomic():  # each example starts from the same database: failures reproduce
        for _ in range(data.draw(st.integers(1, 3), label="mails")):
            raw = data.draw(raw_mail(case_number), label="raw")
            before = InboundMail.objects.count()
            inbound = mail_receive(raw=raw)  # never raises: that is the first property
            assert InboundMail.objects.count() == before + 1
            _assert_accounted_for(inbound, raw)
            event(inbound.state)  # shown by --hypothesis-show-statistics: every outcome is reached
        transaction.set_rollback(True)


@pytest.mark.parametrize("name", ["..", ".", "dir/..", "..\\\\..\\\\"])
def test_an_attachment_named_like_a_directory_is_stored_under_a_generated_name(personas: Any, name: str):
    # Found by the property test above: Django's upload wrapper raised SuspiciousFileOperation.
    raw = (
        b"From: somchai@example.com\r\nSubject: label\r\nMessage-ID: <dots@client.example>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nHere is the label.\r\n"
        b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="'
        + name.encode()
        + b'"\r\n\r\n%PDF-1.4\n1 0 obj\n\r\n--b--\r\n'
    )
    inbound = mail_receive(raw=raw)
    assert inbound.state == InboundState.PROCESSED
    attachment = Attachment.objects.get(message=inbound.case_message)
    assert attachment.original_name == "attachment-1.pdf"
