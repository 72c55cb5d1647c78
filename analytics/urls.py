from django.urls import path

from analytics import views

app_name = "analytics"
urlpatterns = [
    path("funnel/", views.funnel_page, name="funnel"),
    path("retention/", views.retention_page, name="retention"),
    path("golden-time/", views.golden_time_page, name="golden-time"),
]
