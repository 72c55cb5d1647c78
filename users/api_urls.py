from django.urls import path

from users import apis

S = "users/segments/<id:segment_id>/"
C = "users/coupons/<id:campaign_id>/"
urlpatterns = [
    path("users/customers/", apis.CustomerListApi.as_view(), name="customer-list"),
    path("users/customers/<text:distinct_id>/", apis.CustomerDetailApi.as_view(), name="customer-detail"),
    path("users/refresh/", apis.CustomerRefreshApi.as_view(), name="customer-refresh"),
    path("users/summary/", apis.CustomerSummaryApi.as_view(), name="customer-summary"),
    path("users/lifecycle/", apis.LifecycleApi.as_view(), name="lifecycle"),
    path("users/channels/quality/", apis.ChannelQualityApi.as_view(), name="channel-quality"),
    path("users/channels/spend/", apis.ChannelSpendListApi.as_view(), name="channel-spend-list"),
    path("users/channels/spend/import/", apis.ChannelSpendImportApi.as_view(), name="channel-spend-import"),
    path("users/channels/spend/<id:spend_id>/", apis.ChannelSpendDetailApi.as_view(), name="channel-spend-detail"),
    path("users/segments/", apis.SegmentListCreateApi.as_view(), name="segment-list"),
    path("users/segments/preview/", apis.SegmentPreviewApi.as_view(), name="segment-preview"),
    path(S, apis.SegmentDetailApi.as_view(), name="segment-detail"),
    path(S + "rebuild/", apis.SegmentRebuildApi.as_view(), name="segment-rebuild"),
    path(S + "members/", apis.SegmentMembersApi.as_view(), name="segment-members"),
    path(S + "sizes/", apis.SegmentSizesApi.as_view(), name="segment-sizes"),
    path("users/coupons/", apis.CouponCampaignListCreateApi.as_view(), name="coupon-campaign-list"),
    path(C, apis.CouponCampaignDetailApi.as_view(), name="coupon-campaign-detail"),
    path(C + "codes/", apis.CouponCodesApi.as_view(), name="coupon-codes"),
    path(C + "issue/", apis.CouponIssueApi.as_view(), name="coupon-issue"),
    path(C + "redemptions/", apis.CouponRedemptionListApi.as_view(), name="coupon-redemptions"),
    path("users/referral/k-factor/", apis.ReferralKFactorApi.as_view(), name="referral-k-factor"),
    path("users/referral/referrers/", apis.ReferralReferrersApi.as_view(), name="referral-referrers"),
]
