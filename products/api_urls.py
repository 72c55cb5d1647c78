from django.urls import path

from products import apis

T = "products/tickets/<id:ticket_id>/"
urlpatterns = [
    path("products/tickets/", apis.TicketListCreateApi.as_view(), name="ticket-list"),
    path(T, apis.TicketDetailApi.as_view(), name="ticket-detail"),
    path(T + "moves/", apis.TicketMoveApi.as_view(), name="ticket-move"),
    path(T + "history/", apis.TicketHistoryApi.as_view(), name="ticket-history"),
    path(T + "comments/", apis.TicketCommentApi.as_view(), name="ticket-comments"),
    path(T + "watch/", apis.TicketWatchApi.as_view(), name="ticket-watch"),
    path(T + "attachments/", apis.TicketAttachmentApi.as_view(), name="ticket-attachments"),
    path(T + "attachments/<id:attachment_id>/file/", apis.TicketAttachmentFileApi.as_view(),
         name="ticket-attachment-file"),
    path(T + "iterations/", apis.TicketIterationApi.as_view(), name="ticket-iterations"),
    path(T + "plans/", apis.TicketPlanListApi.as_view(), name="ticket-plans"),
    path(T + "plans/diff/", apis.TicketPlanDiffApi.as_view(), name="ticket-plan-diff"),
    path(T + "plans/<id:version>/", apis.TicketPlanDetailApi.as_view(), name="ticket-plan-detail"),
    path(T + "plans/<id:version>/submit/", apis.TicketPlanSubmitApi.as_view(), name="ticket-plan-submit"),
    path(T + "plans/<id:version>/review/", apis.TicketPlanReviewApi.as_view(), name="ticket-plan-review"),
    path(T + "plans/<id:version>/schema/", apis.TicketPlanSchemaApi.as_view(), name="ticket-plan-schema"),
    path(T + "tracking-check/", apis.TicketTrackingCheckApi.as_view(), name="ticket-tracking-check"),
    path(T + "impact/", apis.TicketImpactApi.as_view(), name="ticket-impact"),
    path("products/launches/", apis.LaunchListApi.as_view(), name="launch-list"),
    path("products/tracking-health/", apis.TrackingHealthApi.as_view(), name="tracking-health"),
    path("products/feedback/", apis.FeedbackListCreateApi.as_view(), name="feedback-list"),
    path("products/feedback/triage/", apis.FeedbackTriageApi.as_view(), name="feedback-triage"),
    path("products/notifications/", apis.NotificationListApi.as_view(), name="notification-list"),
    path("products/notifications/read/", apis.NotificationReadApi.as_view(), name="notification-read"),
]
