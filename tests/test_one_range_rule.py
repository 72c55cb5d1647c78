"""Date ranges and local midnights have one home, ops_platform/core/periods.py: the source is read, so a new copy of
"is date_from after date_to" or of "local date → midnight" fails here (issue 14, item 1), and the one rule each caller
declares behaves as the copies did (defaults, caps, field errors on the page and in the API alike)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django import forms
from rest_framework import serializers

from ops_platform.core.periods import TODAY, YESTERDAY, DateRange, DateRangeError

ROOT = Path(__file__).resolve().parent.parent
APPS = ["analytics", "desk", "goals", "insights", "merchants", "ops_platform", "products", "users"]
HOME = ROOT / "ops_platform" / "core" / "periods.py"

# A range checked by hand: "date_from > date_to" (or its mirror) on values, attributes or cleaned data; and a local
# midnight built by hand: datetime.combine(day, time.min / time()) made aware.
RANGE_CHECK = re.compile(r"date_from[\"'\]]*\s*>\s*[\w\[\]\"'.]*date_to|date_to[\"'\]]*\s*<\s*[\w\[\]\"'.]*date_from")
LOCAL_MIDNIGHT = re.compile(r"combine\([^)]*(time\.min|time\(\)|min\.time\(\))")


# Not validators of what people send: guards inside jobs and commands, each with its reason.
GUARDS = {
    "analytics/management/commands/compute_metrics.py",  # the command's own --from/--to (a CommandError)
    "analytics/services/metrics.py",  # a programming error in a caller (ValueError), after the rule has run
    "users/management/commands/backfill_lifecycle.py",  # the command's own --from/--to
    "users/services/lifecycle_history.py",  # nothing left to write: 0 days
    "analytics/services/columns.py",  # a UTC day (the event columns' blocks), not a local one
}


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts and path != HOME and str(path.relative_to(ROOT)) not in GUARDS:
                yield path, path.read_text()


def test_no_date_range_is_checked_outside_the_periods_module():
    copies = [f"{path.relative_to(ROOT)}: {line.strip()}" for path, text in _sources()
              for line in text.splitlines() if RANGE_CHECK.search(line)]

    assert copies == []


def test_no_local_midnight_is_built_outside_the_periods_module():
    copies = [f"{path.relative_to(ROOT)}: {line.strip()}" for path, text in _sources()
              for line in text.splitlines() if LOCAL_MIDNIGHT.search(line)]

    assert copies == []


def test_the_forms_and_serializers_declare_their_rule_in_one_line():
    from analytics import apis as analytics_apis
    from analytics import forms as analytics_forms
    from ops_platform.core import reports
    from products import apis as products_apis
    from products.services import plans
    from users import forms as users_forms

    assert DateRange(max_days=400) == analytics_forms.REPORT_RANGE
    assert analytics_forms.AARRR_RANGE.default_end == YESTERDAY and analytics_forms.AARRR_RANGE.max_days == 3660
    assert analytics_forms.BACKFILL_RANGE.future is False
    assert DateRange(default_end=TODAY, default_days=30) == users_forms.CUSTOMER_RANGE
    assert DateRange(max_days=3660) == products_apis.LAUNCH_RANGE
    assert plans.CHECK_RANGE.default_end == TODAY
    assert DateRange(default_end=YESTERDAY, default_days=7, max_days=400) == reports.SECTION_RANGE
    assert analytics_apis.DateRangeInputSerializer().validate.__func__ is not serializers.Serializer.validate


# The rule itself (today is passed in: no clock is read)

WED = date(2026, 11, 25)


def test_defaults_fill_the_ends_left_out():
    rule = DateRange(default_end=YESTERDAY, default_days=30)

    assert rule.resolve(None, None, today=WED) == (date(2026, 10, 26), date(2026, 11, 24))
    assert rule.resolve(None, date(2026, 3, 31), today=WED) == (date(2026, 3, 2), date(2026, 3, 31))
    assert DateRange(default_end=TODAY, default_days=7).resolve(None, None, today=WED) == (date(2026, 11, 19), WED)
    # a defaulted start is not before the earliest day the caller allows (a launch): given starts are kept
    assert rule.resolve(None, None, today=WED, earliest=date(2026, 11, 20)) == (date(2026, 11, 20), date(2026, 11, 24))
    assert rule.resolve(date(2026, 11, 1), None, today=WED, earliest=date(2026, 11, 20))[0] == date(2026, 11, 1)


@pytest.mark.parametrize(("rule", "date_from", "date_to", "code", "field", "message"), [
    (DateRange(), date(2026, 3, 2), date(2026, 3, 1), "order", "date_to",
     "Choose an end date on or after the start date, 2026-03-02."),
    (DateRange(max_days=400), date(2026, 3, 1), date(2027, 4, 4), "span", "date_to",
     "Choose a range of at most 400 days (this one has 401)."),
    (DateRange(future=False), date(2026, 11, 1), date(2026, 11, 26), "future", "date_to",
     "The end date cannot be in the future."),
    (DateRange(messages={"order": ("date_from", "Pick a start on or before the end date.")}), date(2026, 3, 2),
     date(2026, 3, 1), "order", "date_from", "Pick a start on or before the end date."),
])
def test_refusals_name_their_field(rule, date_from, date_to, code, field, message):
    if code == "span":  # 400 days are accepted, 401 refused
        assert rule.resolve(date_from, date_to, today=WED) == (date_from, date_to)
        date_to = date(2027, 4, 5)

    with pytest.raises(DateRangeError) as refused:
        rule.resolve(date_from, date_to, today=WED)

    assert (refused.value.code, refused.value.field, refused.value.message) == (code, field, message)


def test_the_same_rule_gives_the_same_field_errors_on_a_form_and_in_a_serializer(today_is):
    rule = DateRange(default_end=TODAY, default_days=10, max_days=10)

    class Form(forms.Form):
        date_from = forms.DateField(required=False)
        date_to = forms.DateField(required=False)

        def clean(self):
            return rule.clean_form(self, super().clean())

    class Serializer(serializers.Serializer):
        date_from = serializers.DateField(required=False)
        date_to = serializers.DateField(required=False)

        def validate(self, attrs):
            return rule.validate_attrs(attrs)

    for data in [{"date_from": "2026-11-02", "date_to": "2026-11-01"}, {"date_from": "2026-10-01"}]:
        form, serializer = Form(data), Serializer(data=data)
        assert not form.is_valid() and not serializer.is_valid()
        assert form.errors == {"date_to": serializer.errors["date_to"]}
    form, serializer = Form({}), Serializer(data={})
    assert form.is_valid() and serializer.is_valid()
    assert form.cleaned_data == serializer.validated_data == {"date_from": date(2026, 11, 16), "date_to": WED}
    # a field that is not a date keeps its own error; the rule adds none
    form = Form({"date_from": "x", "date_to": "2026-11-01"})
    assert not form.is_valid() and list(form.errors) == ["date_from"]


def test_a_service_gets_an_application_error_with_the_field():
    from ops_platform.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        DateRange(max_days=400).resolve_or_refuse(date(2026, 3, 2), date(2026, 3, 1))

    assert refused.value.message == "The range ends before it starts."
    assert refused.value.errors == {"date_to": ["Choose an end date on or after the start date, 2026-03-02."]}


def test_a_rule_without_a_default_end_asks_for_the_end_in_a_serializer():
    class Serializer(serializers.Serializer):
        date_from = serializers.DateField(required=False)
        date_to = serializers.DateField(required=False)

        def validate(self, attrs):
            return DateRange(max_days=10).validate_attrs(attrs)

    serializer = Serializer(data={"date_from": "2026-11-01"})

    assert not serializer.is_valid()
    assert serializer.errors == {"date_to": ["Enter a date as YYYY-MM-DD, for example 2026-03-01."]}
