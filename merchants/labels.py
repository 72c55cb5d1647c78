"""Merchant categories as words in the reader's language (ops_platform/core/labels.py). A merchant stores its
category as typed or imported; the usual ones are codes and are named here, any other is shown as it is."""

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


def labels_register() -> None:
    vocabulary_register("merchant_category", CATEGORY_LABELS)
