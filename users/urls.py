from django.urls import path

from users import views

app_name = "users"
urlpatterns = [
    path("", views.overview, name="customers"),
    path("refresh/", views.refresh, name="refresh"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/export.csv", views.customer_export, name="customer-export"),
    path("customers/<str:distinct_id>/", views.customer_detail, name="customer"),
    path("lifecycle/", views.lifecycle, name="lifecycle"),
    path("channels/", views.channels, name="channels"),
    path("channels/spend/", views.channel_spend_add, name="channel-spend-add"),
    path("channels/spend/import/", views.channel_spend_import_view, name="channel-spend-import"),
    path("channels/spend/<int:spend_id>/delete/", views.channel_spend_remove, name="channel-spend-delete"),
]
