"""Channel quality on crafted events and spend; spend import with bad rows."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook

from analytics.services.loading import events_load
from ops_platform.core.exceptions import ApplicationError
from tests.factories import event_row, local_time
from users.models import ChannelSpend
from users.selectors import channel_quality, channel_spend_in
from users.services.channels import channel_spend_import, channel_spend_save
from users.services.customers import customers_refresh

JUNE = date(2026, 6, 1)


def june(day: int, hour: int = 9):
    return local_time(date(2026, 6, day), hour)


@pytest.fixture
def cohort(db):
    events_load([
        event_row("visit", "a", june(1), channel="wechat"),
        event_row("signup", "a", june(1, 10)),
        event_row("order_paid", "a", june(2, 12), order_id="1", amount=30, merchant_id="m"),
        event_row("order_paid", "a", june(20, 12), order_id="2", amount=20, merchant_id="m"),
        event_row("order_paid", "a", local_time(date(2026, 8, 15), 12), order_id="3", amount=50, merchant_id="m"),
        event_row("visit", "b", june(3), channel="wechat"),
        event_row("signup", "b", june(3, 10)),
        event_row("visit", "c", june(5), channel="douyin"),
        event_row("signup", "c", june(5, 10)),
        event_row("order_paid", "c", june(5, 12), order_id="4", amount=10, merchant_id="m"),
        event_row("visit", "d", june(6), channel="douyin"),
        event_row("visit", "e", local_time(date(2026, 5, 20), 9), channel="wechat"),
    ])
    customers_refresh()
    channel_spend_save(channel="wechat", period_start=JUNE, period_end=date(2026, 6, 30), amount=Decimal("300"))
    channel_spend_save(channel="douyin", period_start=JUNE, period_end=date(2026, 6, 10), amount=Decimal("50"))


def test_spend_is_prorated_to_the_range(cohort):
    assert channel_spend_in(date_from=JUNE, date_to=date(2026, 6, 10)) == {
        "wechat": Decimal("100.00"), "douyin": Decimal("50.00")}


def test_channel_quality_metrics_and_ranking(cohort):
    report = channel_quality(date_from=JUNE, date_to=date(2026, 6, 10))

    wechat, douyin = report["channels"]
    assert {key: wechat[key] for key in wechat if key != "curve"} == {
        "channel": "wechat", "rank": 1, "visitors": 2, "signups": 2, "buyers": 1, "activation_rate": 1.0,
        "repeat_rate": 1.0, "repeat_rate_14d": 0.0, "buyers_14d": 1,  # a's second order came on day 19
        "spend": 100.0, "cac": 50.0, "revenue_30d_per_customer": 25.0,
        "revenue_60d_per_customer": 25.0, "revenue_90d_per_customer": 50.0, "revenue_90d": 100.0,
        "customers_30d": 2, "customers_60d": 2,
        "customers_90d": 2,
        "payback_days": 75, "roi": 0.0,
    }
    assert {key: douyin[key] for key in douyin if key != "curve"} == {
        "channel": "douyin", "rank": 2, "visitors": 2, "signups": 1, "buyers": 1, "activation_rate": 0.5,
        "repeat_rate": 0.0, "repeat_rate_14d": 0.0, "buyers_14d": 1,
        "spend": 50.0, "cac": 50.0, "revenue_30d_per_customer": 10.0,
        "revenue_60d_per_customer": 10.0, "revenue_90d_per_customer": 10.0, "revenue_90d": 10.0,
        "customers_30d": 1, "customers_60d": 1,
        "customers_90d": 1,
        "payback_days": None, "roi": -0.8,
    }
    assert wechat["curve"][:3] == [0.0, 15.0, 15.0]
    assert len(wechat["curve"]) == 90


def test_channel_quality_reads_a_bounded_number_of_queries(cohort, django_assert_num_queries):
    with django_assert_num_queries(4):
        channel_quality(date_from=JUNE, date_to=date(2026, 6, 10))


def test_saving_the_same_period_replaces_the_amount(db):
    channel_spend_save(channel="wechat", period_start=JUNE, period_end=JUNE, amount=Decimal("1"))

    channel_spend_save(channel="wechat", period_start=JUNE, period_end=JUNE, amount=Decimal("2"))

    assert list(ChannelSpend.objects.values_list("channel", "amount")) == [("wechat", Decimal("2.00"))]


def test_a_period_ending_before_it_starts_is_refused(db):
    with pytest.raises(Exception) as raised:
        channel_spend_save(channel="wechat", period_start=JUNE, period_end=date(2026, 5, 1), amount=Decimal("1"))

    assert "period_end" in raised.value.message_dict
    assert ChannelSpend.objects.count() == 0


def test_csv_import_keeps_valid_rows_and_reports_bad_ones(db):
    content = (b"channel,period_start,period_end,amount\n"
               b"wechat,2026-06-01,2026-06-30,300\n"
               b",2026-06-01,2026-06-30,10\n"
               b"douyin,2026-13-01,2026-06-30,-5\n")

    result = channel_spend_import(content=content, filename="spend.csv")

    assert result["imported"] == 1
    assert result["rejected"] == [
        {"row": 3, "errors": {"channel": ["Give a channel name (100 characters at most)."]}},
        {"row": 4, "errors": {"period_start": ["Use a date as YYYY-MM-DD."],
                              "amount": ["Give a non-negative amount."]}},
    ]
    assert list(ChannelSpend.objects.values_list("channel", "amount")) == [("wechat", Decimal("300.00"))]


def test_xlsx_import_upserts(db):
    book = Workbook()
    sheet = book.active
    sheet.append(["Channel", "Period_Start", "Period_End", "Amount", "Note"])
    sheet.append(["douyin", "2026-06-01", "2026-06-10", "50.5", "video ads"])
    buffer = io.BytesIO()
    book.save(buffer)

    result = channel_spend_import(content=buffer.getvalue(), filename="spend.xlsx")

    assert result == {"imported": 1, "rejected": []}
    assert list(ChannelSpend.objects.values_list("channel", "amount", "note")) == [
        ("douyin", Decimal("50.50"), "video ads")]


@pytest.mark.parametrize(("content", "filename", "field_error"), [
    (b"channel,amount\nx,1\n", "spend.csv", "period_start, period_end"),
    (b"\x00\x01garbage", "spend.xlsx", None),
    (b"a,b\n", "spend.txt", "Unsupported type."),
])
def test_unreadable_files_are_refused_with_a_field_error(db, content, filename, field_error):
    with pytest.raises(ApplicationError) as raised:
        channel_spend_import(content=content, filename=filename)

    assert list(raised.value.errors) == ["file"]
    if field_error:
        assert raised.value.errors["file"] == [field_error]
