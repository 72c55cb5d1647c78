"""Codes shown by label in the reader's language, legends worded at render time, one date format per page."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.template import Context, Template
from django.utils import formats, translation

from ops_platform.core.labels import breakdown_value_label, code_label, trend_series_label


def test_a_known_code_reads_in_the_language_and_an_unknown_one_as_typed():
    with translation.override("zh-hans"):
        assert code_label("channel", "wechat") == "微信"
        assert code_label("merchant_category", "food") == "餐饮"
        assert code_label("loss_reason", "Commission too high") == "佣金太高"
        assert code_label("lifecycle_stage", "churned") == "已流失"
        assert code_label("channel", "spring_campaign") == "spring_campaign"  # nobody named it: data
        assert code_label("merchant_category", "烧烤") == "烧烤"
    with translation.override("en"):
        assert code_label("channel", "wechat") == "WeChat"
        assert code_label("tier", "at_risk") == "at risk"


def test_trend_legends_are_worded_from_event_and_measure():
    series = {"label": "order_paid · sum(amount)", "event": "order_paid", "measure": "sum", "property": "amount"}
    with translation.override("zh-hans"):
        assert trend_series_label(series) == "order_paid · amount 合计"
        assert trend_series_label({"event": "visit", "measure": "unique"}) == "visit · 客户数"
        assert trend_series_label({"event": "visit", "measure": "total"}) == "visit"
        assert trend_series_label({"event": "visit", "measure": "total", "breakdown_value": "douyin"},
                                  breakdown="properties.channel") == "抖音"
        assert breakdown_value_label("(other)", "properties.city") == "（其他）"
        assert breakdown_value_label("douyin", "properties.utm_source") == "douyin"  # no vocabulary for that key
    with translation.override("en"):
        assert trend_series_label(series) == "order_paid · sum of amount"


@pytest.mark.parametrize("language", ["en", "zh-hans", "zh-hant"])
def test_one_date_format_in_every_language(language):
    day, moment = date(2026, 12, 8), datetime(2026, 12, 8, 14, 30)
    template = Template("{{ day }}|{{ day|date }}|{{ day|date:'SHORT_DATE_FORMAT' }}|"
                        "{{ moment|date:'DATETIME_FORMAT' }}")

    with translation.override(language):
        shown = template.render(Context({"day": day, "moment": moment}))
        assert formats.date_format(day) == "2026-12-08"

    assert shown == "2026-12-08|2026-12-08|2026-12-08|2026-12-08 14:30"


def test_the_date_widget_carries_the_language_and_an_iso_value():
    from ops_platform.core.widgets import DateWidget

    with translation.override("zh-hans"):
        html = DateWidget().render("day", date(2026, 12, 8))

    assert 'type="date"' in html and 'lang="zh-hans"' in html and 'value="2026-12-08"' in html
    assert "年-月-日" in html
