"""The portal case list's cards written in Python are exactly what its template wrote (issue 9)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.template import engines
from django.utils import translation

from steward.cases.task_selectors import WaitingOn
from steward.portal.list_cards import cards_html

# The loop of templates/portal/case_list.html before the cards moved to Python, as it was.
REFERENCE = (
    "{% load i18n %}"
    "{% for row in rows %}{% with c=row.case %}\n"
    '  <li class="p-card">\n'
    "    <h2><a href=\"{% url 'portal:case' key=row.key %}\">{{ c.subject }}</a></h2>\n"
    '    <p class="p-status st-{{ c.status }}">{{ row.status }}</p>\n'
    '    <dl class="p-facts">\n'
    '      <dt>{% translate "Handled by" %}</dt><dd>{{ c.owner.display_name }}</dd>\n'
    '      {% if c.next_step_text %}<dt>{% translate "Next step" %}</dt><dd>{{ c.next_step_text }} · '
    '{% blocktranslate with due=c.next_step_due|date:"SHORT_DATETIME_FORMAT" %}by {{ due }}'
    "{% endblocktranslate %}</dd>{% endif %}\n"
    '      <dt>{% translate "Opened" %}</dt><dd><time datetime="{{ c.created_at|date:\'c\' }}">'
    '{{ c.created_at|date:"SHORT_DATE_FORMAT" }}</time></dd>\n'
    "    </dl>\n"
    '    {% include "portal/includes/waiting_on.html" with waiting_on=row.waiting_on %}\n'
    "  </li>\n"
    "  {% endwith %}{% endfor %}"
)


def _rows() -> list[dict]:
    at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    owners = [
        SimpleNamespace(display_name="Ann O'Neil <team>"),
        SimpleNamespace(display_name="ยุพา ใจดี"),
        SimpleNamespace(display_name="jdoe"),
    ]
    waits = [
        [],
        [WaitingOn(sector_name="Billing & <Refunds>", expected=date(2026, 3, 4), due_at=at)],
        [
            WaitingOn(sector_name="Field", expected=date(2026, 12, 31), due_at=at),
            WaitingOn(sector_name="Stock", expected=date(2027, 1, 2), due_at=at),
        ],
    ]
    rows = []
    for i in range(9):
        case = SimpleNamespace(
            subject=["Phone <b>broken</b> & more", "Смена тарифа", 'Quote "x"'][i % 3],
            status=["new", "waiting_customer", "closed"][i % 3],
            owner=owners[i % 3],
            created_at=at - timedelta(days=40 * i, minutes=7 * i),
            next_step_text=["", "Call back <today>", None][i % 3],
            next_step_due=at + timedelta(hours=5 * i) if i % 3 == 1 else None,
        )
        key = ["Ab3_-xYz0123456789abcd", "k%2Fodd key", "plain"][i % 3]
        rows.append({"case": case, "key": key, "status": f"Status & {i}", "waiting_on": waits[i % 3]})
    return rows


@pytest.mark.parametrize("language", ["en", "th", "ru", "es"])
def test_cards_are_exactly_what_the_template_wrote(language, settings):
    rows = _rows()
    template = engines["django"].from_string(REFERENCE)
    with translation.override(language):
        expected = template.render({"rows": rows})
        assert cards_html(rows) == expected


def test_no_rows_no_cards():
    assert cards_html([]) == ""


def test_a_translation_is_written_as_blocktranslate_writes_it(monkeypatch):
    """The translation as it is (quotes, ampersands, braces), only the values escaped."""
    from steward.portal import list_cards

    monkeypatch.setattr(list_cards, "_", lambda msgid: "Attendu {x} & l'équipe «%(sector)s» d'ici %(date)s")
    html = list_cards._translated("Waiting on %(sector)s, expected by %(date)s", sector="<B&B>", date="1/2")
    assert html == "Attendu {x} & l'équipe «&lt;B&amp;B&gt;» d'ici 1/2"
