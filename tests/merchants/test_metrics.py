from datetime import date, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from analytics.services.loading import events_load
from merchants import selectors
from merchants.models import Merchant, MerchantMetrics, MerchantMetricsRun, MerchantTierChange, TierRules
from merchants.services.diagnosis import merchant_diagnose
from merchants.services.metrics import merchant_metrics_compute, merchant_tier_set
from merchants.tasks import merchant_metrics_nightly
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.roles import Role
from tests.factories import MerchantFactory, event_row, local_time

pytestmark = pytest.mark.django_db
WEEK = date(2026, 3, 9)  # a Monday


def _orders(code, week, customers, per_customer=1, amount=10.0, day=1):
    return [event_row("order_paid", f"{code}-{c}", local_time(week + timedelta(days=day), 10 + k),
                      order_id=f"{code}-{week}-{c}-{k}", amount=amount, merchant_id=code)
            for c in range(customers) for k in range(per_customer)]


def _reviews(code, week, ratings):
    return [event_row("review", f"{code}-r{i}", local_time(week + timedelta(days=2), 12), order_id=f"o{i}",
                      merchant_id=code, rating=rating) for i, rating in enumerate(ratings)]


def test_weekly_metrics_per_merchant_from_orders_and_reviews():
    star, quiet = MerchantFactory(code="M1"), MerchantFactory(code="M2")
    events_load([
        *_orders("M1", WEEK, customers=10, per_customer=3, amount=20.0),  # 30 orders, 10 repeat customers
        *_orders("M1", WEEK, customers=0),
        *_orders("M1", WEEK - timedelta(days=7), customers=15),  # 15 orders the week before
        *_reviews("M1", WEEK, [5, 5, 4, 1]),
        *_orders("M1", WEEK + timedelta(days=7), customers=4),  # next week: not counted
    ])

    run = merchant_metrics_compute(period_start=WEEK)

    m1 = MerchantMetrics.objects.get(merchant=star, period_start=WEEK)
    m2 = MerchantMetrics.objects.get(merchant=quiet, period_start=WEEK)
    assert (m1.orders, float(m1.gmv), m1.customers, m1.repeat_rate) == (30, 600.0, 10, 1.0)
    assert (m1.review_count, m1.avg_rating, m1.low_rating_share, m1.orders_wow) == (4, 3.75, 0.25, 1.0)
    assert (m2.orders, m2.customers, m2.avg_rating, m2.orders_wow) == (0, 0, None, None)
    assert (run.status, run.merchants) == ("done", 2)


def test_health_score_and_tiers_follow_the_rules():
    rules = TierRules.objects.create(version=1)
    for code in ("CORE", "POT", "ORD", "RISK"):
        MerchantFactory(code=code)
    events_load([
        *_orders("CORE", WEEK, customers=10, per_customer=3), *_orders("CORE", WEEK - timedelta(days=7), 10, 3),
        *_reviews("CORE", WEEK, [5, 5, 5, 5, 5]),
        *_orders("POT", WEEK, customers=8, per_customer=2), *_orders("POT", WEEK - timedelta(days=7), 8, 2),
        *_reviews("POT", WEEK, [5, 5, 4]),
        *_orders("ORD", WEEK, customers=2), *_orders("ORD", WEEK - timedelta(days=7), 2),
        *_reviews("ORD", WEEK, [4]),
        *_orders("RISK", WEEK - timedelta(days=7), customers=10), *_reviews("RISK", WEEK, [1, 1, 2]),
    ])

    merchant_metrics_compute(period_start=WEEK, rules=rules)

    scores = dict(MerchantMetrics.objects.values_list("merchant__code", "health_score"))
    assert scores == {"CORE": 92, "POT": 84, "ORD": 39, "RISK": 2}
    assert dict(Merchant.objects.values_list("code", "tier")) == {
        "CORE": "core", "POT": "potential", "ORD": "ordinary", "RISK": "at_risk"}
    change = MerchantTierChange.objects.get(merchant__code="CORE")
    assert (change.from_tier, change.to_tier, change.rules, change.reason_code, change.reason_text) == (
        "", "core", rules, "first", "first tier: health 92, 30 orders in the week of 2026-03-09 (rules v1)")


def test_running_a_week_twice_changes_nothing():
    MerchantFactory(code="M1")
    events_load(_orders("M1", WEEK, customers=30, per_customer=1))
    merchant_metrics_compute(period_start=WEEK)
    first = list(MerchantMetrics.objects.values_list("merchant_id", "orders", "health_score", "tier"))

    merchant_metrics_compute(period_start=WEEK)

    assert list(MerchantMetrics.objects.values_list("merchant_id", "orders", "health_score", "tier")) == first
    assert MerchantTierChange.objects.count() == 1
    assert MerchantMetricsRun.objects.get().tier_changes == 0


def test_a_tier_change_is_recorded_with_the_reason_and_movers_are_listed():
    MerchantFactory(code="M1")
    events_load([*_orders("M1", WEEK, customers=15, per_customer=2),
                 *_orders("M1", WEEK - timedelta(days=7), 15, 2),
                 *_reviews("M1", WEEK, [5, 5])])
    merchant_metrics_compute(period_start=WEEK)

    merchant_metrics_compute(period_start=WEEK + timedelta(days=7))  # no orders at all: one week is not enough
    assert Merchant.objects.get().tier == "core"
    # the second complete week in a row below: down, to the nearer of the two weeks' tiers (at risk, then ordinary:
    # health 22 then 30 against the at-risk line 35 − 10)
    merchant_metrics_compute(period_start=WEEK + timedelta(days=14))

    assert list(MerchantTierChange.objects.order_by("id").values_list("from_tier", "to_tier")) == [
        ("", "core"), ("core", "ordinary")]
    change = MerchantTierChange.objects.order_by("id").last()
    assert (change.reason_code, change.reason_text) == (
        "moved", "health 30, 0 orders in the week of 2026-03-23, beyond the buffer band for 2 complete weeks in a "
                 "row (rules v1)")
    assert [c.to_tier for c in selectors.tier_changes(direction="down")] == ["ordinary"]
    assert [c.to_tier for c in selectors.tier_changes(direction="up")] == []
    assert Merchant.objects.get().tier_since == WEEK + timedelta(days=14)


def test_recomputing_an_older_week_does_not_touch_tiers():
    MerchantFactory(code="M1")
    events_load(_orders("M1", WEEK, customers=30))
    merchant_metrics_compute(period_start=WEEK + timedelta(days=7))
    tier = Merchant.objects.get().tier

    merchant_metrics_compute(period_start=WEEK)

    assert Merchant.objects.get().tier == tier
    assert MerchantTierChange.objects.count() == 1


def test_a_week_must_start_on_monday():
    with pytest.raises(ApplicationError) as exc:
        merchant_metrics_compute(period_start=WEEK + timedelta(days=1))
    assert exc.value.errors == {"period_start": ["Give a Monday."]}


def test_rotate_out_lists_merchants_at_risk_for_n_weeks_and_upgrade_candidates():
    TierRules.objects.create(version=1, rotate_out_periods=2)
    MerchantFactory(code="GONE")
    MerchantFactory(code="NEAR")
    for week in (WEEK, WEEK + timedelta(days=7)):
        events_load([*_orders("NEAR", week, customers=6, per_customer=2), *_reviews("NEAR", week, [5, 5])])
    merchant_metrics_compute(period_start=WEEK)
    merchant_metrics_compute(period_start=WEEK + timedelta(days=7))

    assert [m.code for m in selectors.rotate_out_list()] == ["GONE"]
    assert [(m.code, m.tier) for m in selectors.upgrade_candidates()] == [("NEAR", "potential")]


def test_tier_set_by_hand_is_for_admins_and_recorded(make_staff):
    merchant = MerchantFactory(code="M1", tier="potential")
    with pytest.raises(ApplicationError) as exc:
        merchant_tier_set(user=make_staff(Role.MERCHANT_OPS), merchant_ids=[merchant.pk], tier="core", reason="x")
    admin = make_staff(Role.ADMIN)

    changed = merchant_tier_set(user=admin, merchant_ids=[merchant.pk], tier="core", reason="Promoted at review")

    assert (exc.value.status_code, changed) == (403, 1)
    change = MerchantTierChange.objects.get()
    assert (change.from_tier, change.to_tier, change.reason, change.changed_by) == (
        "potential", "core", "Promoted at review", admin)


def test_diagnosis_names_problems_with_evidence_and_advice():
    MerchantFactory(code="M1")
    events_load([*_orders("M1", WEEK - timedelta(days=7), customers=20), *_reviews("M1", WEEK - timedelta(days=7),
                                                                                  [5, 5, 5, 5, 5]),
                 *_orders("M1", WEEK, customers=12), *_reviews("M1", WEEK, [5, 1, 2, 4, 3])])
    merchant_metrics_compute(period_start=WEEK - timedelta(days=7))
    merchant_metrics_compute(period_start=WEEK)
    series = selectors.merchant_metrics_series(merchant_id=Merchant.objects.get().pk)

    problems = merchant_diagnose(series=series, last_contact_at=None, now=local_time(WEEK, 12),
                                 campaigns_taken_part=0, training_complete=True)

    assert [p.code for p in problems] == ["orders_down", "rating_fell", "low_ratings", "few_repeat_customers",
                                          "no_follow_up", "no_campaign"]
    assert problems[0].evidence == "12 orders in the week of 2026-03-09 against 20 the week before (-40%)."
    assert problems[1].evidence == "Average rating 3.0 in the week of 2026-03-09 against 5.0 the week before."


def test_the_nightly_task_judges_the_last_complete_week_once_then_counts_the_week_so_far(celery_eager, today_is):
    today_is(WEEK + timedelta(days=3))  # a Thursday
    MerchantFactory(code="M1")
    events_load([*_orders("M1", WEEK - timedelta(days=7), customers=3), *_orders("M1", WEEK, customers=3)])

    run_id = merchant_metrics_nightly.delay().get()
    merchant_metrics_nightly.delay().get()  # the next night: the complete week is not judged again

    run = MerchantMetricsRun.objects.get(pk=run_id)
    assert (run.period_start, run.status, run.merchants, run.days) == (WEEK, "done", 1, 3)
    assert list(MerchantMetricsRun.objects.order_by("period_start").values_list("period_start", "days")) == [
        (WEEK - timedelta(days=7), 7), (WEEK, 3)]
    assert list(MerchantTierChange.objects.values_list("period_start", flat=True)) == [WEEK - timedelta(days=7)]


def test_the_nightly_schedule_is_installed_by_migration():
    task = PeriodicTask.objects.get(task="merchants.tasks.merchant_metrics_nightly")
    assert (task.enabled, task.crontab.hour, task.crontab.minute) == (True, "3", "0")


def test_tier_rules_saved_in_the_admin_make_a_new_version(make_staff, client):
    client.force_login(make_staff(Role.ADMIN))
    first = TierRules.objects.create(version=1)
    fields = {"core_min_score": 80, "core_min_orders": 20, "potential_min_score": 55, "potential_min_orders": 5,
              "at_risk_max_score": 35, "upgrade_margin": 10, "rotate_out_periods": 3, "buffer_points": 10,
              "buffer_orders": 20, "confirm_weeks": 2}

    response = client.post(f"/admin/merchants/tierrules/{first.pk}/change/", fields)

    assert response.status_code == 302
    assert list(TierRules.objects.order_by("version").values_list("version", "core_min_score")) == [(1, 75), (2, 80)]
    assert selectors.tier_rules_current().version == 2


def test_a_running_week_is_counted_per_week_and_against_the_same_days_before_and_judges_nothing():
    merchant = MerchantFactory(code="M1", tier="potential", health_score=70)
    events_load([*_orders("M1", WEEK, customers=10, day=0), *_orders("M1", WEEK - timedelta(days=7), 10, day=0),
                 *_orders("M1", WEEK - timedelta(days=7), 30, day=4)])

    run = merchant_metrics_compute(period_start=WEEK, through=WEEK + timedelta(days=1))

    row = MerchantMetrics.objects.get()
    assert (row.days, row.complete, row.orders, row.orders_wow, row.health_score) == (2, False, 10, 0.0, 60)
    assert (row.tier, row.indicated_tier) == ("potential", "")  # the tier in force, not a verdict
    merchant.refresh_from_db()
    assert (merchant.tier, merchant.health_score, run.days, run.tier_changes) == ("potential", 70, 2, 0)
    assert not MerchantTierChange.objects.exists()
