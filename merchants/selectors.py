from merchants.models import Merchant


def merchant_count() -> int:
    return Merchant.objects.count()


def merchant_count_live() -> int:
    return Merchant.objects.filter(stage=Merchant.Stage.LIVE).count()
