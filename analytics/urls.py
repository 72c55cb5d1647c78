from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("ingest-keys/", views.ingest_keys, name="ingest-keys"),
    path("ingest-keys/new/", views.ingest_key_create_page, name="ingest-key-create"),
    path("ingest-keys/<int:pk>/revoke/", views.ingest_key_revoke_page, name="ingest-key-revoke"),
]
