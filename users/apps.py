from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = _("User operations")

    def ready(self):
        from ops_platform.core.labels import vocabulary_register
        from users import report_files  # noqa: F401 - registers the reports' files
        from users.cohorts import cohorts_register
        from users.models import CouponFraudReason, RfmSegment, Stage
        from users.reports import reports_register

        reports_register()
        cohorts_register()
        # Life-cycle stages and RFM groups by their labels wherever they are shown as codes (ops_platform/core/labels)
        vocabulary_register("lifecycle_stage", dict(Stage.choices))
        vocabulary_register("rfm_segment", dict(RfmSegment.choices))
        # Why a coupon redemption is suspicious: the codes stay in the data and the API, people read the labels
        vocabulary_register("coupon_fraud_reason", dict(CouponFraudReason.choices))
