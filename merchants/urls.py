from django.urls import path

from merchants import views
from merchants.views import programmes

app_name = "merchants"
M = "<id:merchant_id>/"
urlpatterns = [
    path("", views.merchant_list, name="list"),
    path("new/", views.merchant_new, name="new"),
    path("import/", views.merchant_import, name="import"),
    path("export/", views.merchant_export, name="export"),
    path("board/", views.board, name="board"),
    path("board/column/", views.board_column, name="board-column"),
    path("todo/", views.todo, name="todo"),
    path("tiers/", views.tiers, name="tiers"),
    path("tiers/bulk/", views.tiers_bulk, name="tiers-bulk"),
    path("tiers/export/", views.tiers_export, name="tiers-export"),
    path("campaigns/", programmes.campaigns, name="campaigns"),
    path("campaigns/<id:campaign_id>/", programmes.campaign_detail, name="campaign"),
    path("campaigns/<id:campaign_id>/edit/", programmes.campaign_edit, name="campaign-edit"),
    path("campaigns/<id:campaign_id>/invite/", programmes.campaign_invite_view, name="campaign-invite"),
    path("invites/<id:invite_id>/respond/", programmes.invite_respond, name="invite-respond"),
    path("training/", programmes.training, name="training"),
    path("training/courses/new/", programmes.course_new, name="course-new"),
    path("training/courses/<id:course_id>/edit/", programmes.course_edit, name="course-edit"),
    path("training/sessions/new/", programmes.session_new, name="session-new"),
    path("training/sessions/<id:session_id>/", programmes.session_detail, name="session"),
    path("training/sessions/<id:session_id>/edit/", programmes.session_edit, name="session-edit"),
    path("training/sessions/<id:session_id>/enrol/", programmes.session_enrol, name="session-enrol"),
    path("training/sessions/<id:session_id>/attendance/", programmes.session_attendance,
         name="session-attendance"),
    path("targets/", programmes.targets, name="targets"),
    path("targets/new/", programmes.target_new, name="target-new"),
    path("targets/<id:target_id>/edit/", programmes.target_edit, name="target-edit"),
    path("follow-ups/<id:contact_id>/done/", views.follow_up_done, name="follow-up-done"),
    path(M, views.merchant_detail, name="detail"),
    path(M + "edit/", views.merchant_edit, name="edit"),
    path(M + "move/", views.merchant_move, name="move"),
    path(M + "contact/", views.merchant_contact, name="contact"),
    path(M + "reassign/", views.merchant_reassign_view, name="reassign"),
]
