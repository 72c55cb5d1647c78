from django.urls import path

from merchants import apis

M = "merchants/<id:merchant_id>/"
urlpatterns = [
    path("merchants/", apis.MerchantListCreateApi.as_view(), name="merchant-list"),
    path("merchants/pick/", apis.MerchantPickerApi.as_view(), name="merchant-picker"),
    path("merchants/export/", apis.MerchantExportApi.as_view(), name="merchant-export"),
    path("merchants/import/", apis.MerchantImportApi.as_view(), name="merchant-import"),
    path("merchants/reassign/", apis.MerchantReassignApi.as_view(), name="merchant-reassign"),
    path("merchants/follow-ups/", apis.FollowUpListApi.as_view(), name="merchant-follow-ups"),
    path("merchants/follow-ups/<id:contact_id>/complete/", apis.FollowUpCompleteApi.as_view(),
         name="merchant-follow-up-complete"),
    path("merchants/targets/", apis.TargetApi.as_view(), name="merchant-targets"),
    path("merchants/targets/<id:target_id>/", apis.TargetDetailApi.as_view(), name="merchant-target"),
    path("merchants/tiers/changes/", apis.TierChangeListApi.as_view(), name="merchant-tier-changes"),
    path("merchants/tiers/upgrade-candidates/", apis.UpgradeCandidateListApi.as_view(),
         name="merchant-upgrade-candidates"),
    path("merchants/tiers/rotate-out/", apis.RotateOutListApi.as_view(), name="merchant-rotate-out"),
    path("merchants/tiers/bulk/", apis.TierBulkApi.as_view(), name="merchant-tier-bulk"),
    path("merchants/courses/", apis.CourseListCreateApi.as_view(), name="merchant-courses"),
    path("merchants/courses/<id:course_id>/", apis.CourseDetailApi.as_view(), name="merchant-course"),
    path("merchants/sessions/", apis.SessionListCreateApi.as_view(), name="merchant-sessions"),
    path("merchants/sessions/<id:session_id>/", apis.SessionDetailApi.as_view(), name="merchant-session"),
    path("merchants/sessions/<id:session_id>/enrol/", apis.SessionEnrolApi.as_view(), name="merchant-session-enrol"),
    path("merchants/sessions/<id:session_id>/attendance/", apis.SessionAttendanceApi.as_view(),
         name="merchant-session-attendance"),
    path("merchants/campaigns/", apis.CampaignListCreateApi.as_view(), name="merchant-campaigns"),
    path("merchants/campaigns/<id:campaign_id>/", apis.CampaignDetailApi.as_view(), name="merchant-campaign"),
    path("merchants/campaigns/<id:campaign_id>/invite/", apis.CampaignInviteApi.as_view(),
         name="merchant-campaign-invite"),
    path("merchants/invites/<id:invite_id>/respond/", apis.CampaignInviteRespondApi.as_view(),
         name="merchant-invite-respond"),
    path(M, apis.MerchantDetailApi.as_view(), name="merchant-detail"),
    path(M + "moves/", apis.MerchantStageMoveApi.as_view(), name="merchant-moves"),
    path(M + "contacts/", apis.MerchantContactApi.as_view(), name="merchant-contacts"),
    path(M + "health/", apis.MerchantHealthApi.as_view(), name="merchant-health"),
]
