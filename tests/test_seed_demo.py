"""The demo data set: reproducible, realistic in shape, safe to run twice."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.models import Event
from merchants.models import Merchant
from ops_platform.accounts.models import Staff
from ops_platform.core.roles import Role, roles_of
from ops_platform.dashboard.demo import DEMO_PASSWORD, demo_events_frame, demo_merchants_ensure, demo_seed
from products.models import Ticket

END = date(2026, 3, 31)


def small_frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    merchants, _ = demo_merchants_ensure(rng, count=30)
    return demo_events_frame(rng, customers=400, days=28, end=END, merchants=merchants)


@pytest.mark.django_db
def test_same_seed_gives_the_same_events_and_another_seed_does_not():
    first = small_frame(7)
    Merchant.objects.all().delete()
    second = small_frame(7)
    Merchant.objects.all().delete()
    other = small_frame(8)

    pd.testing.assert_frame_equal(first, second)
    assert set(first["uuid"]).isdisjoint(set(other["uuid"]))


@pytest.mark.django_db
def test_the_stream_has_the_shape_of_the_business():
    events = small_frame(3)
    local = pd.to_datetime(events["ts"]).dt.tz_localize("UTC").dt.tz_convert("Asia/Shanghai")

    assert local.dt.date.min() >= END - timedelta(days=27)
    assert local.dt.date.max() <= END
    counts = events["event"].value_counts()
    assert set(counts.index) == {"visit", "signup", "view_merchant", "add_to_cart", "order_paid", "order_received",
                                 "review"}
    # Drop-off down the funnel.
    assert counts["visit"] > counts["view_merchant"] > counts["add_to_cart"] > counts["order_paid"]
    assert counts["order_paid"] > counts["order_received"] > counts["review"]
    # Each customer's first event is a visit carrying a channel; a sign-up comes after it.
    first = events.sort_values("ts", kind="stable").groupby("distinct_id").head(1)
    assert (first["event"] == "visit").all()
    assert all(props["channel"] != "direct" for props in first["properties"])
    # Orders peak at lunch and dinner, not at night.
    hours = local[events["event"] == "order_paid"].dt.hour.value_counts()
    assert hours.get(12, 0) > 3 * hours.get(3, 0)
    assert hours.get(18, 0) > 3 * hours.get(4, 0)
    # Repeat orders exist.
    assert events[events["event"] == "order_paid"].groupby("distinct_id").size().max() > 1
    # Referrers are customers who signed up on an earlier day.
    signups = events[events["event"] == "signup"]
    signup_day = dict(zip(signups["distinct_id"], local[signups.index].dt.date, strict=True))
    referred = [(row.distinct_id, row.properties["referrer"]) for row in signups.itertuples()
                if row.properties.get("referrer")]
    assert referred
    assert all(signup_day[referrer] < signup_day[customer] for customer, referrer in referred)
    # Orders carry what AARRR and the merchant pages read.
    order = events[events["event"] == "order_paid"].iloc[0]["properties"]
    assert set(order) >= {"order_id", "amount", "merchant_id"}
    assert order["amount"] > 0


@pytest.mark.django_db
def test_demo_seed_creates_one_login_per_role_and_runs_twice_without_duplicates():
    result = demo_seed(customers=150, days=14, seed=1, end=END, merchants=20)

    assert sorted(result.staff_created) == sorted(role.value for role in Role)
    for role in Role:
        staff = Staff.objects.get(username=role.value)
        assert staff.check_password(DEMO_PASSWORD)
        assert roles_of(staff) == (frozenset(Role) if role == Role.ADMIN else frozenset({role}))
    assert Merchant.objects.count() == 20
    assert Merchant.objects.filter(stage=Merchant.Stage.LIVE).exists()
    assert Ticket.objects.count() > 0
    assert result.events_stored == result.events_generated == Event.objects.count()
    # Customers are persons: a third of those who signed up browsed under a cookie id first (identity).
    assert Event.objects.values("person_id").distinct().count() == result.customers
    assert Event.objects.values("distinct_id").distinct().count() > result.customers

    again = demo_seed(customers=150, days=14, seed=1, end=END, merchants=20)

    assert again.staff_created == []
    assert again.merchants_created == 0
    assert again.tickets_created == 0
    assert again.events_stored == 0
    assert Event.objects.count() == result.events_generated


@pytest.mark.django_db
def test_seed_demo_command_prints_the_logins_and_honours_if_empty(capsys):
    call_command("seed_demo", "--customers", "60", "--days", "7", "--end", "2026-03-31", "--merchants", "10")
    stored = Event.objects.count()
    out = capsys.readouterr().out
    assert f"{stored:,} of {stored:,} events stored" in out
    for role in Role:
        assert f"  {role.value:<13} / {DEMO_PASSWORD}" in out

    call_command("seed_demo", "--if-empty", "--customers", "60", "--days", "7", "--seed", "99")

    assert Event.objects.count() == stored
    assert "Events are already stored" in capsys.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["--customers", "0"], "at least 1"),
    (["--end", "31/03/2026"], "--end must be a date"),
])
def test_seed_demo_refuses_bad_options(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args)
    assert Event.objects.count() == 0


def test_default_end_is_yesterday(db):
    result = demo_seed(customers=5, days=2, seed=5, merchants=3)
    assert result.date_to == timezone.localdate() - timedelta(days=1)


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_in_production_without_force(settings):
    """Before 2026-12 the README's "to try the stack" made `admin` a superuser with the printed demo password."""
    settings.DEBUG_FROM_ENV = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG=0: this looks like production.*seed_demo --force"):
        call_command("seed_demo", "--customers", "60", "--days", "7", "--merchants", "10")

    assert Event.objects.count() == 0
    assert not Staff.objects.exists()


@pytest.mark.django_db
def test_seed_demo_forced_in_production_creates_no_known_password(settings, capsys):
    settings.DEBUG_FROM_ENV = False

    call_command("seed_demo", "--force", "--customers", "60", "--days", "7", "--end", "2026-03-31", "--merchants", "10")

    out = capsys.readouterr().out
    assert DEMO_PASSWORD not in out
    assert "Demo logins, with passwords generated now and shown only this once:" in out
    printed = dict(map(str.strip, line.split(" / ")) for line in out.splitlines() if " / " in line)
    assert set(printed) == {role.value for role in Role}
    assert len(set(printed.values())) == len(Role)
    for username, password in printed.items():
        staff = Staff.objects.get(username=username)
        assert not staff.check_password(DEMO_PASSWORD)
        assert staff.check_password(password)

    call_command("seed_demo", "--force", "--if-empty")
    again = capsys.readouterr().out
    assert "Accounts that already existed keep their passwords: merchant_ops, user_ops" in again
    assert DEMO_PASSWORD not in again
