from django.urls import path

from ops_platform.dashboard import views

app_name = "dashboard"
urlpatterns = [path("", views.home, name="home")]
