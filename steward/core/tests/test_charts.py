import json

import pytest
from django.template.loader import render_to_string

from steward.core.charts import chart


def test_chart_table_has_one_row_per_label_and_shows_gaps_as_no_data():
    c = chart("line", ["Jan", "Feb"], {"CSAT": [81.25, None]}, title="CSAT", unit="%")
    assert [(r.label, r.values) for r in c.rows] == [("Jan", ("81.2 %",)), ("Feb", ("—",))]
    assert c.config["datasets"] == [{"label": "CSAT", "data": [81.25, None]}]


def test_chart_refuses_series_that_do_not_match_the_labels():
    with pytest.raises(ValueError):
        chart("line", ["Jan", "Feb"], {"CSAT": [1.0]}, title="CSAT")
    with pytest.raises(ValueError):
        chart("pie", ["Jan"], {"CSAT": [1.0]}, title="CSAT")


def test_chart_include_renders_canvas_json_and_the_same_numbers_as_a_table():
    c = chart("bar", ["Billing", "Warehouse"], {"Tasks": [3, 12]}, title="Tasks", chart_id="t1")
    html = render_to_string("includes/chart.html", {"chart": c})
    assert 'data-chart="t1-data"' in html
    start = html.index('id="t1-data"')
    block = html[html.index(">", start) + 1 : html.index("</script>", start)]
    assert json.loads(block)["labels"] == ["Billing", "Warehouse"]
    assert "<td>12</td>" in html and "<td>3</td>" in html
