"""The real-summary rule for handoffs, in the four languages Steward speaks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.cases.summaries import MIN_CHARS, summary_problem

REAL = [
    "The customer needs a working replacement phone before Friday.",
    "Checked warranty: valid. Ordered a replacement from the warehouse.",
    "El cliente necesita que le devuelvan el cobro duplicado de octubre.",
    "Клиенту нужен возврат двойного списания за октябрь.",
    "ลูกค้าต้องการเครื่องใหม่ที่ชาร์จไฟได้ก่อนวันศุกร์นี้",
    "ตรวจสอบประกันแล้ว สั่งเครื่องทดแทนจากคลังสินค้า",
    # A real summary may point to the notes as well, as long as it says something itself.
    "Needs the SIM swapped today; see notes for the store address.",
]

POINTERS = [
    "see history",
    "See above.",
    "as discussed",
    "n/a",
    "Please see the history above",
    "see the ticket thread and previous emails",
    "Ver historial",
    "Ver el historial, por favor",
    "como se habló",
    "см. историю",
    "Смотрите переписку выше, пожалуйста",
    "ดูประวัติ",
    "กรุณาดูประวัติด้านบนครับ",
    "ไม่มี",
]

TOO_SHORT = [
    "done",
    "Phone broken",
    "Cobro doble",
    "Не заряжается",
    "ลูกค้าโทรมา",
]


@pytest.mark.parametrize("text", REAL)
def test_a_real_summary_in_any_language_is_accepted(text):
    assert summary_problem(text) is None


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_summary_is_rejected(text):
    assert summary_problem(text) == "Write this part of the summary."


@pytest.mark.parametrize("text", POINTERS)
def test_a_pointer_to_the_history_is_not_a_summary(text):
    assert "pointer to the history" in (summary_problem(text) or "")


@pytest.mark.parametrize("text", TOO_SHORT)
def test_a_summary_shorter_than_the_minimum_is_rejected(text):
    assert len(text) < MIN_CHARS
    assert "Too short" in (summary_problem(text) or "")


@pytest.mark.parametrize("text", ["a" * 24, "abab abab abab abab abab", "ฟ" * 24])
def test_repeated_characters_do_not_read_as_a_summary(text):
    assert summary_problem(text) is not None


def test_digits_and_punctuation_alone_are_not_a_summary():
    assert summary_problem("1234567890 !!! ??? 1234567890") is not None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_the_summary_check_never_raises_on_any_text(text):
    problem = summary_problem(text)
    assert problem is None or (isinstance(problem, str) and problem)


@settings(max_examples=200, deadline=None)
@given(st.text(), st.sampled_from(["", " ", "\n", "\t  "]))
def test_surrounding_whitespace_never_changes_the_verdict(text, pad):
    assert summary_problem(pad + text + pad) == summary_problem(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=MIN_CHARS - 1))
def test_no_text_shorter_than_the_minimum_passes(text):
    assert summary_problem(text) is not None
