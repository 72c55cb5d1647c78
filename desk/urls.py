from django.urls import path

from desk import views

app_name = "desk"
urlpatterns = [
    path("follow-ups/<id:contact_id>/done/", views.follow_up_done, name="follow-up-done"),
    path("alerts/<id:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("digests/", views.digest_list, name="digests"),
    path("digests/<id:digest_id>/", views.digest_detail, name="digest"),
    path("digests/<id:digest_id>/digest.xlsx", views.digest_download, name="digest-xlsx"),
]
