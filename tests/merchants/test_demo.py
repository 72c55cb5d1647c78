from datetime import date

import pytest

from merchants.models import (
    Campaign,
    CampaignInvite,
    Certification,
    Merchant,
    MerchantContact,
    MerchantMetrics,
    MerchantStageMove,
    MerchantTierChange,
    RecruitmentTarget,
)
from ops_platform.dashboard.demo import demo_seed

END = date(2026, 3, 31)


@pytest.mark.django_db
def test_seed_demo_gives_merchants_in_every_stage_and_tier_with_history():
    demo_seed(customers=1500, days=42, seed=3, end=END, merchants=60)

    assert set(Merchant.objects.values_list("stage", flat=True)) >= {"lead", "negotiating", "signed", "live",
                                                                    "paused", "terminated"}
    assert set(Merchant.objects.filter(stage="live").values_list("tier", flat=True)) == {
        "core", "potential", "ordinary", "at_risk"}
    assert MerchantTierChange.objects.exclude(from_tier="").exists()
    assert Merchant.objects.filter(stage="terminated", loss_reason__isnull=True).count() == 0
    assert MerchantContact.objects.filter(follow_up_on__isnull=False).exists()
    assert RecruitmentTarget.objects.count() == 5
    assert Campaign.objects.count() == 3
    assert CampaignInvite.objects.filter(status="took_part").exists()
    assert Certification.objects.exists()
    # the metrics are the events': every order_paid of a live merchant's code is counted in some week
    assert MerchantMetrics.objects.filter(orders__gt=0).exists()

    moves = MerchantStageMove.objects.count()
    demo_seed(customers=1500, days=42, seed=3, end=END, merchants=60)

    assert MerchantStageMove.objects.count() == moves
    assert Campaign.objects.count() == 3
