from django.urls import path

from desk import views

app_name = "desk"
urlpatterns = [
    path("follow-ups/<id:contact_id>/done/", views.follow_up_done, name="follow-up-done"),
    path("alerts/<id:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("digests/", views.digest_list, name="digests"),
    path("digests/<id:digest_id>/", views.digest_detail, name="digest"),
    path("digests/<id:digest_id>/digest.xlsx", views.digest_download, name="digest-xlsx"),
    path("alert-rules/", views.alert_rule_list, name="alert-rules"),
    path("alert-rules/new/", views.alert_rule_new, name="alert-rule-new"),
    path("alert-rules/<id:rule_id>/", views.alert_rule_update_view, name="alert-rule-update"),
    path("alert-rules/<id:rule_id>/delete/", views.alert_rule_delete_view, name="alert-rule-delete"),
    path("notifications/", views.notification_list_view, name="notifications"),
]
