"""Folding the quoted earlier mail away from a reply, without ever losing the sender's own words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steward.mail.quoting import split_reply


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, 2 Mar 2026 at 09:00, Steward Support <support@steward.localhost> wrote:",
        "El lun, 2 mar 2026 a las 9:00, Soporte <support@steward.localhost> escribió:",
        "2 марта 2026 г., в 9:00, Служба поддержки <support@steward.localhost> написал(а):",
        "เมื่อ 2 มี.ค. 2026 09:00 ฝ่ายบริการลูกค้า <support@steward.localhost> เขียนว่า:",
    ],
)
def test_a_reply_under_an_attribution_line_keeps_the_fresh_text(attribution):
    text = f"It dropped again last night.\n\nOlga\n\n{attribution}\n> We are checking the line.\n> Support"
    fresh, quoted = split_reply(text)
    assert fresh == "It dropped again last night.\n\nOlga"
    assert quoted.startswith(attribution) and "> We are checking the line." in quoted


def test_outlook_separator_and_bare_quote_blocks():
    outlook = "Thanks, that works.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nWe fixed it."
    assert split_reply(outlook) == (
        "Thanks, that works.",
        "-----Original Message-----\nFrom: Support\nSent: Monday\n\nWe fixed it.",
    )
    assert split_reply("Yes.\n> Did it work?\n>\n> Support") == ("Yes.", "> Did it work?\n>\n> Support")


@pytest.mark.parametrize(
    "text",
    [
        "My router restarts every hour.",
        "> I quote you first\nand then answer below it.",  # interleaved: not a quoted tail
        "From: my neighbour's flat, the signal is fine.\nFrom my flat it is not.",
        "> everything is quoted\n> nothing else",  # nothing would stay fresh: keep it all
        "",
    ],
)
def test_no_quoted_tail_means_everything_is_fresh(text):
    assert split_reply(text) == (text, "")


@given(st.text())
def test_splitting_never_loses_a_word(text):
    fresh, quoted = split_reply(text)
    assert fresh.strip() or not text.strip() or fresh == text
    kept = (fresh + "\n" + quoted).split()
    assert sorted(kept) == sorted(text.split())


def test_case_page_and_portal_fold_the_quote(client, personas):
    from steward.cases.services import case_receive_message

    case_receive_message(
        case=personas.case, body="Still broken.\n\nOn Monday, Support wrote:\n> Try another cable."
    )
    client.force_login(personas.adviser)
    page = client.get(f"/en/cases/{personas.case.pk}/").content.decode()
    assert '<details class="quoted">' in page and "Still broken." in page
