"""Merchant codes as words in the reader's language (ops_platform/core/labels.py): categories (a merchant stores
its category as typed or imported; the usual ones are codes and are named here, any other is shown as it is), the
starting loss reasons, growth levels and tiers."""

from django.utils.translation import gettext_lazy as _

from ops_platform.core.labels import vocabulary_register

CATEGORY_LABELS = {
    "food": _("food"),
    "drinks": _("drinks"),
    "dessert": _("desserts"),
    "grocery": _("grocery"),
    "flowers": _("flowers"),
    "pharmacy": _("pharmacy"),
    "laundry": _("laundry"),
    "beauty": _("beauty"),
}


# The loss reasons the platform starts with (the demo's; the list is managed, so a reason added later is shown as
# typed). Keyed by the stored name, which stays the code scripts see.
LOSS_REASON_LABELS = {
    "Went to a competitor": _("Went to a competitor"),
    "Commission too high": _("Commission too high"),
    "Shop closed": _("Shop closed"),
    "Not enough orders": _("Not enough orders"),
    "Quality problems": _("Quality problems"),
}


def labels_register() -> None:
    from merchants.models import Tier
    from merchants.services.training import GROWTH_LEVELS

    vocabulary_register("merchant_category", CATEGORY_LABELS)
    vocabulary_register("loss_reason", LOSS_REASON_LABELS)
    vocabulary_register("growth_level", dict(GROWTH_LEVELS))
    vocabulary_register("tier", dict(Tier.choices))
