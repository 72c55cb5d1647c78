from django.urls import path

from products import views

app_name = "products"
T = "tickets/<id:ticket_id>/"
urlpatterns = [
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/mine/", views.my_tickets, name="my-tickets"),
    path("tickets/export/", views.tickets_export, name="tickets-export"),
    path("tickets/mine/export/", views.my_tickets_export, name="my-tickets-export"),
    path("tickets/new/", views.ticket_new, name="ticket-new"),
    path("board/", views.board, name="board"),
    path("board/column/", views.board_column, name="board-column"),
    path("roadmap/", views.roadmap, name="roadmap"),
    path(T, views.ticket_detail, name="ticket"),
    path(T + "edit/", views.ticket_edit, name="ticket-edit"),
    path(T + "move/", views.ticket_move_view, name="ticket-move"),
    path(T + "comment/", views.ticket_comment_view, name="ticket-comment"),
    path(T + "watch/", views.ticket_watch_view, name="ticket-watch"),
    path(T + "attach/", views.ticket_attach_view, name="ticket-attach"),
    path(T + "attachments/<id:attachment_id>/", views.ticket_attachment_file, name="ticket-attachment"),
    path(T + "iterate/", views.ticket_iterate_view, name="ticket-iterate"),
    path(T + "plan/", views.plan_edit, name="plan-edit"),
    path(T + "plan/<id:version>/submit/", views.plan_submit, name="plan-submit"),
    path(T + "plan/<id:version>/review/", views.plan_review, name="plan-review"),
    path(T + "check/", views.plan_check, name="plan-check"),
    path(T + "impact/", views.impact_run, name="impact-run"),
    path("tracking-health/", views.tracking_health, name="tracking-health"),
    path("feedback/", views.feedback_list, name="feedback"),
    path("feedback/triage/", views.feedback_triage_view, name="feedback-triage"),
    path("notifications/", views.notifications, name="notifications"),
]
