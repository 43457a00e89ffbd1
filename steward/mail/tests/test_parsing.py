"""The parser over a corpus of real .eml files, each charset and shape, plus fuzzed headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.mail.parsing import ParseError, guess_language, html_to_text, ingest

EML = Path(__file__).parent / "eml"


def parse(name: str):
    return ingest((EML / name).read_bytes())


@pytest.mark.parametrize(
    ("name", "from_address", "subject", "text", "language"),
    [
        ("utf8_thai.eml", "somchai.utf8@example.net", "โทรศัพท์ชาร์จไม่เข้า", "โทรศัพท์ของผมชาร์จไม่เข้า", "th"),
        ("tis620_thai.eml", "malee.tis@example.net", "ใบแจ้งหนี้ผิด", "คิดเงินซ้ำสองครั้งค่ะ", "th"),
        ("windows874_thai.eml", "pranee.874@example.net", "ค่าบริการ", "“ราคา” 100 € ต่อเดือน", "th"),
        ("koi8r_russian.eml", "ivan.koi8@example.net", "Не работает интернет", "Второй день", "ru"),
        ("windows1251_russian.eml", "olga.1251@example.net", "Возврат денег", "заказ №1234", "ru"),
        ("iso88591_spanish.eml", "jose.latin1@example.net", "Factura errónea", "¿Por qué me cobraron", "en"),
        ("quoted_printable.eml", "anna.qp@example.net", "Soft line breaks", "seventy-six characters", "en"),
        ("base64.eml", "ben.b64@example.net", "Base64 body", "naïve façade ✓", "en"),
    ],
)
def test_each_charset_and_transfer_encoding_decodes(name, from_address, subject, text, language):
    mail = parse(name)
    assert mail.from_address == from_address
    assert mail.subject == subject
    assert text in mail.text
    assert "\ufffd" not in mail.text + mail.subject
    assert guess_language(mail) == language
    assert mail.message_id.startswith("<corpus-") and not mail.is_noise


def test_encoded_sender_names_decode():
    assert parse("utf8_thai.eml").from_name == "สมชาย ใจดี"
    assert parse("koi8r_russian.eml").from_name == "Иван Петров"
    assert parse("iso88591_spanish.eml").from_name == "José Muñoz"


def test_quoted_printable_soft_line_breaks_are_joined():
    mail = parse("quoted_printable.eml")
    assert "wrapped with soft line breaks so that it stays within seventy-six characters = done." in mail.text
    assert "Café ☕" in mail.text


def test_html_only_mail_gets_a_readable_text_body_and_sanitised_html():
    mail = parse("html_only.eml")
    assert "My order #991 has not arrived." in mail.text
    assert "ordered on Monday" in mail.text and "paid by card" in mail.text
    assert "alert" not in mail.text and "color:red" not in mail.text
    assert "<b>#991</b>" in mail.html
    for dangerous in ("<script", "onclick", "javascript:", "<style"):
        assert dangerous not in mail.html


def test_multipart_alternative_prefers_the_plain_part_and_keeps_the_html():
    mail = parse("multipart_alternative.eml")
    assert mail.text == "Plain version: the screen flickers."
    assert "<i>screen</i>" in mail.html


def test_attachments_and_inline_images_are_extracted_with_decoded_names():
    mail = parse("attachment_inline.eml")
    by_name = {a.filename: a for a in mail.attachments}
    assert set(by_name) == {"photo.png", "ใบเสร็จ.pdf"}
    assert by_name["photo.png"].inline and by_name["photo.png"].content.startswith(b"\x89PNG")
    assert by_name["ใบเสร็จ.pdf"].content_type == "application/pdf"
    assert not by_name["ใบเสร็จ.pdf"].inline and by_name["ใบเสร็จ.pdf"].content.startswith(b"%PDF")
    assert "See the photo" in mail.text


def test_unknown_charset_degrades_to_replacement_characters():
    mail = parse("unknown_charset.eml")
    assert mail.text.startswith("Readable part, then bytes")
    assert "\ufffd" in mail.text
    assert mail.subject.startswith("Qapla")


def test_malformed_headers_degrade_gracefully():
    mail = parse("malformed_headers.eml")
    assert mail.from_address == "gina.malformed@example.net"
    assert mail.subject.startswith("Café =ZZ broken ด่วน")  # raw 8-bit UTF-8 in a header is read too
    assert mail.date is None  # an unreadable date is dropped, not fatal
    assert mail.in_reply_to == ""  # not a Message-ID
    assert mail.message_id == "<corpus-malformed@example.net>"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("auto_submitted.eml", "Auto-Submitted: auto-replied"),
        ("precedence_bulk.eml", "Precedence: bulk"),
        ("x_autoreply.eml", "x-autoreply header"),
        ("out_of_office_en.eml", "out-of-office subject"),
        ("out_of_office_th.eml", "out-of-office subject"),
        ("out_of_office_ru.eml", "out-of-office subject"),
        ("out_of_office_es.eml", "out-of-office subject"),
    ],
)
def test_auto_replies_are_recognised(name, reason):
    mail = parse(name)
    assert mail.is_auto_reply and not mail.is_bounce
    assert mail.noise_reason == reason


@pytest.mark.parametrize(
    "subject",
    ["Re: Automatic reply not working on my phone", "My out of office setting is broken", "Vacation booking"],
)
def test_a_customer_writing_about_auto_replies_is_not_an_auto_reply(subject):
    raw = f"From: a@example.net\r\nSubject: {subject}\r\n\r\nhelp".encode()
    assert not ingest(raw).is_noise


def test_a_delivery_status_notification_is_a_bounce_and_its_original_is_not_the_body():
    mail = parse("bounce_dsn.eml")
    assert mail.is_bounce and mail.noise_reason.startswith("bounce:")
    assert mail.text == "Your message could not be delivered."
    assert [a.content_type for a in mail.attachments] == ["message/rfc822"]


def test_bounce_by_sender_or_empty_return_path():
    daemon = b"From: MAILER-DAEMON@mx.example.net\r\nSubject: failure\r\n\r\nfailed"
    assert ingest(daemon).is_bounce
    empty_path = b"Return-Path: <>\r\nFrom: someone@example.net\r\nSubject: x\r\n\r\nbody"
    assert ingest(empty_path).is_bounce
    assert not ingest(b"Auto-Submitted: no\r\nFrom: a@example.net\r\nSubject: hi\r\n\r\nx").is_noise


@pytest.mark.parametrize(
    ("name", "reason"),
    [("garbage.eml", "no headers"), ("no_sender.eml", "no sender address (From)")],
)
def test_unparseable_messages_raise_a_typed_error_with_a_reason(name, reason):
    with pytest.raises(ParseError) as caught:
        parse(name)
    assert caught.value.reason == reason


def test_empty_input_is_a_parse_error():
    with pytest.raises(ParseError):
        ingest(b"")


def test_thread_ids_list_in_reply_to_first_then_references_newest_first():
    raw = (
        b"From: a@example.net\r\nSubject: Re: x\r\nIn-Reply-To: <c@x>\r\n"
        b"References: <a@x> <b@x>\r\n <c@x>\r\n\r\nbody"
    )
    mail = ingest(raw)
    assert mail.references == ["<a@x>", "<b@x>", "<c@x>"]
    assert mail.thread_ids == ["<c@x>", "<b@x>", "<a@x>"]


def test_html_to_text_keeps_paragraphs_apart():
    assert html_to_text("<p>one</p><p>two<br>three</p>") == "one\n\ntwo\nthree"


HEADER_NAMES = st.sampled_from(
    [
        "From",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Date",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Auto-Submitted",
        "Precedence",
        "Return-Path",
        "X-Anything",
    ]
)
HEADER_VALUES = st.one_of(
    st.binary(max_size=80),
    st.text(max_size=60).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.sampled_from(
        [
            b"=?utf-8?B?4LiB?=",
            b"=?x-bad?Q?=ZZ?=",
            b"text/plain; charset=koi8-r",
            b"multipart/mixed; boundary=",
            b"base64",
            b"quoted-printable",
            b"<>",
            b"<a@b>",
            b'"Name" <a@b.c>',
            b"a@b.c, <<>>",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    headers=st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=8),
    body=st.binary(max_size=200),
)
def test_fuzzed_headers_never_raise_anything_but_parse_error(headers, body):
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body
    try:
        mail = ingest(raw)
    except ParseError as exc:
        assert exc.reason
    else:
        assert "@" in mail.from_address
        assert isinstance(mail.text, str) and isinstance(mail.subject, str)
