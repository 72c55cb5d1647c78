from django.urls import path

from desk import apis

urlpatterns = [
    path("desk/", apis.DeskApi.as_view(), name="desk"),
    path("alerts/", apis.AlertListApi.as_view(), name="alert-list"),
    path("alerts/<id:alert_id>/acknowledge/", apis.AlertAcknowledgeApi.as_view(), name="alert-acknowledge"),
    path("digests/", apis.DigestListApi.as_view(), name="digest-list"),
    path("digests/<id:digest_id>/", apis.DigestDetailApi.as_view(), name="digest-detail"),
    path("alert-rules/", apis.AlertRuleListCreateApi.as_view(), name="alert-rule-list"),
    path("alert-rules/<id:rule_id>/", apis.AlertRuleDetailApi.as_view(), name="alert-rule-detail"),
    path("alert-notifications/", apis.AlertNotificationListApi.as_view(), name="alert-notification-list"),
    path("alert-notifications/read/", apis.AlertNotificationReadApi.as_view(), name="alert-notification-read"),
]
