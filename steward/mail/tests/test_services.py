"""mail_receive: what each kind of mail becomes, asserted on the stored outcome."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail as django_mail
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from steward.cases import services as case_services
from steward.cases.models import Attachment, Case, CaseEvent, Channel, EventKind, Message, Status
from steward.cases.signals import case_event_recorded
from steward.customers.models import Customer
from steward.mail import identity
from steward.mail.models import InboundMail, InboundState
from steward.mail.services import mail_receive

from .helpers import make_mail

pytestmark = pytest.mark.django_db
EML = Path(__file__).parent / "eml"


def eml(name: str) -> bytes:
    return (EML / name).read_bytes()


def message_of(inbound: InboundMail) -> Message:
    assert inbound.case_message is not None
    return inbound.case_message


def case_of(inbound: InboundMail) -> Case:
    assert inbound.case is not None
    return inbound.case


@pytest.fixture
def events_sent():
    """Every case_event_recorded signal: what notifications listen to."""
    sent: list = []

    def receiver(sender, event, **kwargs):
        sent.append(event)

    case_event_recorded.connect(receiver, weak=False)
    yield sent
    case_event_recorded.disconnect(receiver)


# ---------------------------------------------------------------- new contacts


@pytest.mark.parametrize(
    ("name", "language", "text"),
    [
        ("utf8_thai.eml", "th", "ชาร์จไม่เข้า"),
        ("tis620_thai.eml", "th", "คิดเงินซ้ำ"),
        ("windows874_thai.eml", "th", "ต่อเดือน"),
        ("koi8r_russian.eml", "ru", "не работает интернет"),
        ("windows1251_russian.eml", "ru", "вернуть деньги"),
        ("iso88591_spanish.eml", "en", "facturación"),
        ("quoted_printable.eml", "en", "soft line breaks"),
        ("base64.eml", "en", "façade"),
        ("html_only.eml", "en", "has not arrived"),
        ("multipart_alternative.eml", "en", "flickers"),
        ("unknown_charset.eml", "en", "Readable part"),
        ("malformed_headers.eml", "th", ""),  # Thai in its raw 8-bit subject
    ],
)
def test_unknown_sender_becomes_a_customer_with_an_e_mail_case(personas, name, language, text):
    inbound = mail_receive(raw=eml(name))
    assert inbound.state == InboundState.PROCESSED, inbound.reason
    case = inbound.case
    assert case is not None and case.channel == Channel.EMAIL and case.status == Status.NEW
    assert case.customer.email == inbound.from_address
    assert case.customer.language == language
    assert case.owner.is_active and case.owner.role in ("adviser", "manager")
    message = case.messages.get()
    assert inbound.case_message == message
    assert message.external_id == inbound.message_id
    assert text.lower() in message.body.lower()
    assert not inbound.raw  # raw bytes are kept only when something could not be stored


def test_html_body_is_stored_sanitised_on_the_first_message(personas):
    inbound = mail_receive(raw=eml("html_only.eml"))
    message = message_of(inbound)
    assert "<b>#991</b>" in message.body_html and "<script" not in message.body_html


def test_attachments_and_inline_images_are_stored_on_the_message(personas):
    inbound = mail_receive(raw=eml("attachment_inline.eml"))
    names = set(
        Attachment.objects.filter(message=inbound.case_message).values_list("original_name", flat=True)
    )
    assert names == {"photo.png", "ใบเสร็จ.pdf"}
    assert inbound.reason == ""


def test_a_30_mb_attachment_is_skipped_but_the_mail_and_its_raw_bytes_are_kept(personas):
    big = b"%PDF-1.4\n" + b"0" * (30 * 1024 * 1024)
    raw = make_mail(
        sender="big.file@example.net",
        subject="Scan of my contract",
        body="The scan is attached.",
        attachments=[("contract.pdf", "application/pdf", big), ("note.txt", "text/plain", b"small note")],
    )
    inbound = mail_receive(raw=raw)
    assert inbound.state == InboundState.PROCESSED
    message = message_of(inbound)
    assert "The scan is attached." in message.body
    assert "contract.pdf is too large" in message.body  # the adviser sees a file is missing
    assert list(message.attachments.values_list("original_name", flat=True)) == ["note.txt"]
    assert "contract.pdf is too large" in inbound.reason
    assert inbound.raw and inbound.raw.size == len(raw)  # the original, with the file, is kept


def test_a_forbidden_file_type_is_skipped_with_the_reason(personas):
    raw = make_mail(
        sender="exe@example.net", attachments=[("tool.exe", "application/octet-stream", b"MZ\x90\x00" * 10)]
    )
    inbound = mail_receive(raw=raw)
    assert inbound.state == InboundState.PROCESSED
    assert "tool.exe is not an allowed file type" in inbound.reason
    assert not message_of(inbound).attachments.exists()


# ---------------------------------------------------------------- threading


def test_reply_with_a_valid_case_token_joins_that_case(case, customer):
    other = case_services.case_open(
        actor=case.owner, customer=customer, subject="Second issue", description="Another problem."
    )
    subject = identity.subject_with_token("Re: Phone does not charge", case.pk)
    inbound = mail_receive(raw=make_mail(subject=subject))
    assert inbound.case == case  # the token wins over the more recent open case
    assert case.messages.count() == 2 and other.messages.count() == 1


def test_a_forged_token_is_ignored_and_threads_by_sender_instead(case, customer):
    other_customer = Customer.objects.create(name="Other", email="other@example.com")
    foreign = case_services.case_open(
        actor=case.owner, customer=other_customer, subject="Private", description="Not yours."
    )
    forged = identity.case_token(foreign.pk).replace(identity.case_token(foreign.pk)[-9:-1], "deadbeef")
    inbound = mail_receive(raw=make_mail(subject=f"Re: {forged}"))
    assert inbound.case == case  # the sender's own open case, not the forged one
    assert foreign.messages.count() == 1


def test_a_valid_token_from_someone_else_does_not_reach_that_case(case):
    subject = identity.subject_with_token("Re: Phone does not charge", case.pk)
    inbound = mail_receive(raw=make_mail(sender="stranger@example.net", subject=subject))
    assert inbound.state == InboundState.PROCESSED
    assert inbound.case != case and case_of(inbound).customer.email == "stranger@example.net"
    assert case.messages.count() == 1


def test_reply_by_in_reply_to_a_steward_message_id(case, customer):
    newer = case_services.case_open(
        actor=case.owner, customer=customer, subject="Newer", description="A newer open case."
    )
    inbound = mail_receive(raw=make_mail(subject="Re: hi", in_reply_to=identity.new_message_id(case.pk)))
    assert inbound.case == case and newer.messages.count() == 1


def test_reply_by_references_to_an_earlier_inbound_mail(personas, customer):
    first = mail_receive(raw=make_mail(subject="Router", message_id="<first@client.example>"))
    second_case = case_services.case_open(
        actor=personas.adviser, customer=customer, subject="Newer", description="A newer open case."
    )
    reply = make_mail(subject="more", references="<unknown@x> <first@client.example>")
    inbound = mail_receive(raw=reply)
    assert inbound.case == first.case != second_case


def test_a_reference_to_another_customers_mail_does_not_thread(personas, case):
    theirs = mail_receive(raw=make_mail(sender="them@example.net", message_id="<theirs@x>"))
    inbound = mail_receive(raw=make_mail(in_reply_to="<theirs@x>"))
    assert inbound.case == case != theirs.case


def test_a_plain_mail_from_a_known_customer_joins_the_open_case(case):
    inbound = mail_receive(raw=make_mail(subject="Something else entirely"))
    assert inbound.case == case
    assert case.messages.count() == 2
    assert CaseEvent.objects.filter(case=case, kind=EventKind.MESSAGE_IN).count() == 2


def test_a_customer_address_matches_whatever_its_case(case):
    inbound = mail_receive(raw=make_mail(sender="Somchai <SomChai@Example.COM>"))
    assert inbound.case == case


def _close(case, manager, at):
    case_services.case_close_unconfirmed(
        actor=manager, case=case, reason="Customer unreachable for weeks.", at=at
    )


def test_a_mail_to_a_case_closed_within_the_window_reopens_it(case, manager):
    closed_at = timezone.now() + timedelta(minutes=1)
    _close(case, manager, closed_at)
    inbound = mail_receive(raw=make_mail(subject="It broke again"), at=closed_at + timedelta(days=3))
    case.refresh_from_db()
    assert inbound.case == case and case.status == Status.REOPENED and case.reopen_count == 1


def test_a_reply_to_a_case_closed_after_the_window_opens_a_linked_follow_up(case, manager):
    closed_at = timezone.now() + timedelta(minutes=1)
    _close(case, manager, closed_at)
    subject = identity.subject_with_token("Re: Phone does not charge", case.pk)
    inbound = mail_receive(raw=make_mail(subject=subject), at=closed_at + timedelta(days=30))
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    follow_up = case_of(inbound)
    assert follow_up != case and follow_up.follow_up_of == case and follow_up.is_repeat_contact
    assert follow_up.customer == case.customer
    assert follow_up.messages.get().external_id == inbound.message_id


def test_a_plain_mail_long_after_the_last_case_closed_opens_a_new_case(case, manager):
    closed_at = timezone.now() + timedelta(minutes=1)
    _close(case, manager, closed_at)
    inbound = mail_receive(raw=make_mail(subject="New question"), at=closed_at + timedelta(days=30))
    assert inbound.case != case and case_of(inbound).customer == case.customer
    assert Customer.objects.filter(email="somchai@example.com").count() == 1


# ---------------------------------------------------------------- noise and loops


NOISE = [
    "auto_submitted.eml",
    "precedence_bulk.eml",
    "x_autoreply.eml",
    "out_of_office_en.eml",
    "out_of_office_th.eml",
    "out_of_office_ru.eml",
    "out_of_office_es.eml",
    "bounce_dsn.eml",
]


@pytest.mark.parametrize("name", NOISE)
def test_automatic_mail_and_bounces_are_recorded_as_ignored_and_do_nothing(personas, events_sent, name):
    cases_before, customers_before = Case.objects.count(), Customer.objects.count()
    inbound = mail_receive(raw=eml(name))
    assert inbound.state == InboundState.IGNORED_AUTO and inbound.reason
    assert inbound.case is None
    assert (Case.objects.count(), Customer.objects.count()) == (cases_before, customers_before)
    assert events_sent == [] and django_mail.outbox == []


def test_an_auto_reply_to_a_closed_case_never_reopens_it(case, manager, events_sent):
    closed_at = timezone.now() + timedelta(minutes=1)
    _close(case, manager, closed_at)
    events_sent.clear()
    raw = make_mail(
        subject="Automatic reply: " + identity.subject_with_token("Case closed", case.pk),
        headers={"Auto-Submitted": "auto-replied"},
        in_reply_to=identity.new_message_id(case.pk),
    )
    inbound = mail_receive(raw=raw, at=closed_at + timedelta(hours=1))
    case.refresh_from_db()
    assert inbound.state == InboundState.IGNORED_AUTO and case.status == Status.CLOSED
    assert events_sent == [] and case.messages.count() == 1


def test_a_loop_between_two_auto_responders_creates_nothing(personas, events_sent):
    """Our notifications and a customer's auto-responder answering each other, many times."""
    replies = [
        make_mail(
            sender="autoresponder@partner.example",
            subject=f"Automatic reply: Re: {identity.subject_with_token('Your case', 4242)} ({i})",
            headers={"Auto-Submitted": "auto-replied"} if i % 2 else {"Precedence": "junk"},
            in_reply_to=identity.new_message_id(4242),
        )
        for i in range(40)
    ]
    for raw in replies:
        mail_receive(raw=raw)
    assert InboundMail.objects.filter(state=InboundState.IGNORED_AUTO).count() == 40
    assert not Customer.objects.filter(email="autoresponder@partner.example").exists()
    assert events_sent == [] and django_mail.outbox == []


def test_an_unmarked_responder_loop_is_cut_by_the_hourly_sender_limit(personas, settings):
    settings.STEWARD_MAIL_SENDER_HOURLY_LIMIT = 5
    results = [
        mail_receive(raw=make_mail(sender="dumb.bot@partner.example", subject=f"ok {i}")) for i in range(8)
    ]
    assert [r.state for r in results[:5]] == [InboundState.PROCESSED] * 5
    assert {r.state for r in results[5:]} == {InboundState.IGNORED_AUTO}
    assert all(r.raw for r in results[5:])  # not acted on, but kept
    case = case_of(results[0])
    assert case.messages.count() == 5


def test_mail_from_stewards_own_address_or_with_its_own_message_id_is_ignored(personas, settings):
    settings.DEFAULT_FROM_EMAIL = "Steward Support <Support@Steward.example>"
    own_address = mail_receive(raw=make_mail(sender="support@steward.example"))
    own_message = mail_receive(raw=make_mail(message_id=identity.new_message_id(personas.case.pk)))
    for inbound in (own_address, own_message):
        assert inbound.state == InboundState.IGNORED_AUTO and inbound.case is None
    assert personas.case.messages.count() == 1


# ---------------------------------------------------------------- duplicates and quarantine


def test_the_same_message_id_twice_is_recorded_as_a_duplicate(case, events_sent):
    raw = make_mail(message_id="<once@client.example>")
    first = mail_receive(raw=raw)
    events_sent.clear()
    again = mail_receive(raw=make_mail(message_id="<once@client.example>", body="resent"))
    assert again.state == InboundState.IGNORED_DUPLICATE and again.duplicate_of == first
    assert again.case == first.case and again.case_message is None
    assert Message.objects.filter(external_id="<once@client.example>").count() == 1
    assert events_sent == []


def test_the_same_bytes_without_a_message_id_are_a_duplicate(personas):
    raw = b"From: nomsgid@example.net\r\nSubject: no id\r\n\r\nhello"
    first, again = mail_receive(raw=raw), mail_receive(raw=raw)
    assert first.state == InboundState.PROCESSED and first.message_id == ""
    assert again.state == InboundState.IGNORED_DUPLICATE and again.duplicate_of == first


@pytest.mark.parametrize(("name", "reason"), [("garbage.eml", "no headers"), ("no_sender.eml", "no sender")])
def test_an_unparseable_message_is_quarantined_with_its_raw_bytes(personas, name, reason):
    raw = eml(name)
    inbound = mail_receive(raw=raw)
    assert inbound.state == InboundState.QUARANTINED and reason in inbound.reason
    with inbound.raw.open("rb") as stored:
        assert stored.read() == raw
    assert Case.objects.count() == 1  # the persona's case only


def test_a_message_larger_than_the_limit_is_quarantined_unread(personas, settings):
    settings.STEWARD_MAIL_MAX_BYTES = 1000
    inbound = mail_receive(raw=make_mail(body="x" * 2000))
    assert inbound.state == InboundState.QUARANTINED and "too large" in inbound.reason
    assert inbound.raw.size > 1000


def test_when_no_one_can_own_a_new_case_the_mail_is_quarantined_not_lost(db):
    inbound = mail_receive(raw=make_mail(sender="first@example.net"))
    assert inbound.state == InboundState.QUARANTINED
    assert "owner" in inbound.reason
    assert inbound.raw and not Customer.objects.exists()  # the half-made customer rolled back


def test_nul_characters_and_raw_bytes_in_headers_are_stored_safely(personas):
    raw = (
        b'From: "Nul\x00 Name" <nul@example.net>\r\nSubject: broken\x00 \xff\xfe subject\r\n'
        b"Auto-Submitted: no\r\nMessage-ID: <nul\x00@x>\r\n\r\nbody with \x00 a NUL"
    )
    inbound = mail_receive(raw=raw)
    assert inbound.state == InboundState.PROCESSED
    assert "\x00" not in inbound.subject and inbound.subject.startswith("broken")
    assert message_of(inbound).body == "body with  a NUL"


FUZZ_HEADERS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "From",
                "Subject",
                "Message-ID",
                "In-Reply-To",
                "References",
                "Auto-Submitted",
                "Content-Type",
                "Content-Transfer-Encoding",
                "Precedence",
            ]
        ),
        st.one_of(
            st.binary(max_size=60),
            st.sampled_from(
                [b"fuzz@example.net", b"=?utf-8?B?4LiB?=", b"<a@b>", b"text/html; charset=koi8-r"]
            ),
        ),
    ),
    max_size=8,
)


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(headers=FUZZ_HEADERS, body=st.binary(max_size=200))
def test_any_input_is_stored_as_exactly_one_row_and_never_raises(personas, headers, body):
    raw = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body
    before = InboundMail.objects.count()
    inbound = mail_receive(raw=raw)
    assert InboundMail.objects.count() == before + 1
    assert inbound.state in InboundState.values


# ---------------------------------------------------------------- staff replying to a notification


def test_mail_from_an_active_staff_address_is_ignored_with_the_raw_bytes_kept(personas, case):
    personas.adviser.email = "Adviser@Staff.example"
    personas.adviser.save(update_fields=["email"])
    messages_before, cases_before = Message.objects.count(), Case.objects.count()
    raw = make_mail(
        sender="adviser@staff.example",
        subject=f"Re: Case assigned to you {identity.case_token(case.number)}",
        body="I will call him tomorrow.",
    )
    inbound = mail_receive(raw=raw)
    assert inbound.state == InboundState.IGNORED_STAFF
    assert inbound.reason == "Staff address: answer on the case page."
    assert inbound.case is None and inbound.case_message is None
    assert Message.objects.count() == messages_before and Case.objects.count() == cases_before
    assert not Customer.objects.filter(email__iexact="adviser@staff.example").exists()
    with inbound.raw.open("rb") as stored:
        assert stored.read() == raw


def test_mail_from_a_deactivated_staff_address_is_treated_as_any_sender(personas):
    personas.outsider.email = "left@staff.example"
    personas.outsider.is_active = False
    personas.outsider.save(update_fields=["email", "is_active"])
    inbound = mail_receive(raw=make_mail(sender="left@staff.example", subject="My own order"))
    assert inbound.state == InboundState.PROCESSED and inbound.case is not None
