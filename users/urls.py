from django.urls import path

from users import views

app_name = "users"
urlpatterns = [
    path("", views.overview, name="customers"),
    path("refresh/", views.refresh, name="refresh"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/export.csv", views.customer_export, name="customer-export"),
    path("customers/export/", views.customer_export, name="customers-export"),
    path("rfm/export/", views.rfm_export, name="rfm-export"),
    path("customers/<text:distinct_id>/", views.customer_detail, name="customer"),
    path("lifecycle/", views.lifecycle, name="lifecycle"),
    path("lifecycle/export/", views.lifecycle_export, name="lifecycle-export"),
    path("channels/", views.channels, name="channels"),
    path("channels/export/", views.channels_export, name="channels-export"),
    path("channels/spend/", views.channel_spend_add, name="channel-spend-add"),
    path("channels/spend/import/", views.channel_spend_import_view, name="channel-spend-import"),
    path("channels/spend/<id:spend_id>/delete/", views.channel_spend_remove, name="channel-spend-delete"),
    path("segments/", views.segment_list, name="segments"),
    path("segments/<id:segment_id>/", views.segment_detail, name="segment"),
    path("segments/<id:segment_id>/rebuild/", views.segment_rebuild_view, name="segment-rebuild"),
    path("segments/<id:segment_id>/delete/", views.segment_delete_view, name="segment-delete"),
    path("segments/<id:segment_id>/export.csv", views.segment_export, name="segment-export"),
    path("coupons/", views.coupon_list, name="coupons"),
    path("coupons/<id:campaign_id>/", views.coupon_detail, name="coupon"),
    path("coupons/<id:campaign_id>/generate/", views.coupon_generate, name="coupon-generate"),
    path("coupons/<id:campaign_id>/issue/", views.coupon_issue, name="coupon-issue"),
    path("coupons/<id:campaign_id>/redemptions/", views.coupon_redemptions_refresh_view, name="coupon-redemptions"),
    path("coupons/<id:campaign_id>/codes.csv", views.coupon_codes_export, name="coupon-codes"),
    path("referral/", views.referral, name="referral"),
]
