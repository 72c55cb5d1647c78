from django.urls import path

from merchants import views

app_name = "merchants"
M = "<int:merchant_id>/"
urlpatterns = [
    path("", views.merchant_list, name="list"),
    path("new/", views.merchant_new, name="new"),
    path("import/", views.merchant_import, name="import"),
    path("export/", views.merchant_export, name="export"),
    path("board/", views.board, name="board"),
    path("todo/", views.todo, name="todo"),
    path("tiers/", views.tiers, name="tiers"),
    path("tiers/bulk/", views.tiers_bulk, name="tiers-bulk"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:campaign_id>/invite/", views.campaign_invite_view, name="campaign-invite"),
    path("invites/<int:invite_id>/respond/", views.invite_respond, name="invite-respond"),
    path("training/", views.training, name="training"),
    path("targets/", views.targets, name="targets"),
    path("follow-ups/<int:contact_id>/done/", views.follow_up_done, name="follow-up-done"),
    path(M, views.merchant_detail, name="detail"),
    path(M + "move/", views.merchant_move, name="move"),
    path(M + "contact/", views.merchant_contact, name="contact"),
    path(M + "reassign/", views.merchant_reassign_view, name="reassign"),
]
