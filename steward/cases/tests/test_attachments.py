"""Attachments are limited in size and type; the type is judged by the bytes, never by the name."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.cases import services as svc
from steward.cases.attachments import ALLOWED_TYPES, clean_filename, sniff_content_type, validate_upload
from steward.cases.models import Attachment, Case, Message, Note
from steward.core.errors import DomainError

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00;"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 30
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 40
THAI_TEXT = "ลูกค้าแจ้งว่าโทรศัพท์ชาร์จไม่เข้า".encode()
SUMMARY_CSV = b"date,amount\n2026-10-01,399\n2026-10-01,399\n"
ALLOWED_CONTENT_TYPES = {*ALLOWED_TYPES.values(), "text/plain"}


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# ---------------------------------------------------------------- the pure checks


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (ZIP, "application/zip"),
        (THAI_TEXT, "text/plain"),
        (SUMMARY_CSV, "text/plain"),
        ("Привет, ¿qué tal?\tok\r\n".encode(), "text/plain"),
    ],
)
def test_allowed_content_is_recognised_by_its_bytes(content, expected):
    assert sniff_content_type(content) == expected


@pytest.mark.parametrize(
    "content",
    [
        EXE,
        ELF,
        b"MZ is not text when it heads an executable",
        b"#!/bin/sh\nrm -rf ~\n",
        b"\x00\x01\x02\x03binary",
        b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6",
        b"text with a bell \x07 and a backspace \x08",
        b"",
    ],
)
def test_executables_binaries_and_empty_content_are_not_allowed(content):
    assert sniff_content_type(content) is None


def test_a_character_cut_at_the_end_of_a_sample_is_still_text_but_not_at_the_end_of_a_file():
    cut = THAI_TEXT[:-1]  # the last Thai character loses a byte
    assert sniff_content_type(cut) == "text/plain"
    assert sniff_content_type(cut, complete=True) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
        ('inv<oi>ce:"1".pdf', "invoice1.pdf"),
        ("  .hidden  ", "hidden"),
        ("", "attachment"),
        ("ใบแจ้งหนี้.pdf", "ใบแจ้งหนี้.pdf"),
    ],
)
def test_file_names_are_cleaned_of_paths_and_unsafe_characters(name, expected):
    assert clean_filename(name) == expected


def test_validation_reads_the_bytes_not_the_declared_type_or_name():
    assert validate_upload(upload("photo.pdf", PNG, "application/pdf")) == "image/png"
    with pytest.raises(DomainError) as err:
        validate_upload(upload("invoice.pdf", EXE, "application/pdf"))
    assert err.value.code == "forbidden_type" and err.value.field == "attachments"
    assert "invoice.pdf" in err.value.message


def test_an_empty_file_is_refused():
    with pytest.raises(DomainError) as err:
        validate_upload(upload("empty.txt", b""))
    assert err.value.field == "attachments"


@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=100)
def test_a_file_over_the_size_limit_is_refused_and_one_at_the_limit_accepted():
    assert validate_upload(upload("ok.txt", b"a" * 100)) == "text/plain"
    with pytest.raises(DomainError) as err:
        validate_upload(upload("big.txt", b"a" * 101))
    assert err.value.code == "too_large"


def test_validation_leaves_the_file_ready_to_be_read_from_the_start():
    f = upload("scan.pdf", PDF)
    validate_upload(f)
    assert f.read() == PDF


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2048))
def test_content_sniffing_never_raises_on_any_bytes(data):
    assert sniff_content_type(data) in ALLOWED_CONTENT_TYPES | {None}
    assert sniff_content_type(data, complete=True) in ALLOWED_CONTENT_TYPES | {None}


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_anything_behind_an_executable_header_is_refused(tail):
    assert sniff_content_type(b"MZ" + tail) is None


# ---------------------------------------------------------------- through the services


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("scan.pdf", PDF, "application/pdf"),
        ("photo.png", PNG, "image/png"),
        ("notes.txt", THAI_TEXT, "text/plain"),
    ],
)
def test_allowed_attachments_are_stored_with_the_type_their_bytes_show(
    case, adviser, name, content, expected
):
    note = svc.case_add_note(actor=adviser, case=case, body="File", attachments=[upload(name, content)])
    att = note.attachments.get()
    assert (att.content_type, att.size, att.original_name) == (expected, len(content), name)
    assert att.case_id == case.pk and att.uploaded_by == adviser
    assert name not in (att.file.name or "")  # stored under a generated name, never the uploader's
    with att.file.open("rb") as stored:
        assert stored.read() == content


@pytest.mark.django_db
def test_reply_and_customer_message_attachments_belong_to_their_message(case, adviser):
    reply = svc.case_reply(actor=adviser, case=case, body="Your invoice", attachments=[upload("i.pdf", PDF)])
    inbound = svc.case_receive_message(case=case, body="My photo", attachments=[upload("p.png", PNG)])
    assert reply.attachments.get().uploaded_by == adviser
    assert inbound.attachments.get().uploaded_by is None  # the customer sent it


@pytest.mark.django_db
def test_an_executable_renamed_to_pdf_is_refused_on_every_path(case, adviser, customer):
    version = Case.objects.get(pk=case.pk).version
    with pytest.raises(DomainError) as err:
        svc.case_reply(actor=adviser, case=case, body="Here", attachments=[upload("invoice.pdf", EXE)])
    assert err.value.code == "forbidden_type"
    with pytest.raises(DomainError):
        svc.case_receive_message(case=case, body="Here", attachments=[upload("invoice.pdf", EXE)])
    with pytest.raises(DomainError):
        svc.case_open(
            actor=adviser,
            customer=customer,
            subject="Invoice",
            description="Attached",
            attachments=[upload("invoice.pdf", EXE)],
        )
    assert Case.objects.get(pk=case.pk).version == version
    assert Case.objects.filter(customer=customer).count() == 1
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_nothing_is_stored_when_one_of_several_files_is_bad(case, adviser):
    version = Case.objects.get(pk=case.pk).version
    messages = Message.objects.filter(case=case).count()
    files = [upload("ok.pdf", PDF), upload("photo.png", PNG), upload("invoice.pdf", EXE)]
    with pytest.raises(DomainError) as err:
        svc.case_add_note(actor=adviser, case=case, body="Files", attachments=files)
    assert err.value.code == "forbidden_type"
    with pytest.raises(DomainError):
        svc.case_reply(actor=adviser, case=case, body="Files", attachments=files)
    assert not Note.objects.filter(case=case).exists()
    assert Message.objects.filter(case=case).count() == messages
    assert not Attachment.objects.exists()
    assert Case.objects.get(pk=case.pk).version == version
    assert case.events.count() == version


@pytest.mark.django_db
@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=100)
def test_an_oversize_attachment_is_refused_and_nothing_is_stored(case, adviser):
    with pytest.raises(DomainError) as err:
        svc.case_add_note(
            actor=adviser,
            case=case,
            body="Big",
            attachments=[upload("a.txt", b"a" * 50), upload("b.txt", b"b" * 101)],
        )
    assert err.value.code == "too_large" and "b.txt" in err.value.message
    assert not Attachment.objects.exists() and not Note.objects.exists()
