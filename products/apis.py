"""The products API (/api/v1/products/…). Thin: parse, check the role (RolePermission + role_area), call one
service or selector, serialize. Finer workflow rules are enforced in the services (403 with a message)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ops_platform.core.db import statement_timeout
from ops_platform.core.downloads import stored_file_response
from ops_platform.core.fields import IdField
from ops_platform.core.periods import DateRange
from ops_platform.core.roles import Area
from products import selectors
from products.models import FeedbackItem, ImpactAnalysis, Notification, Ticket, TrackingCheck, TrackingPlan
from products.services.feedback import feedback_create, feedback_triage
from products.services.gates import ticket_gates
from products.services.impact import impact_analysis_create
from products.services.notifications import notifications_mark_read
from products.services.plans import tracking_check_run, tracking_plan_review, tracking_plan_save, tracking_plan_submit
from products.services.tickets import (
    ATTACHMENT_TYPES,
    ticket_attachment_add,
    ticket_comment_add,
    ticket_create,
    ticket_iterate,
    ticket_move,
    ticket_update,
    ticket_watch,
)
from products.tracking import plan_diff, plan_json_schema


def _staff_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.filter(is_active=True),
                                        **kwargs)


def _ticket_or_404(ticket_id: int) -> Ticket:
    ticket = selectors.ticket_get(ticket_id=ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


# Tickets


class TicketOutputSerializer(serializers.ModelSerializer):
    key = serializers.CharField(read_only=True)
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)
    owner_pm = serializers.SlugRelatedField(slug_field="username", read_only=True)
    assignees = serializers.SlugRelatedField(slug_field="username", read_only=True, many=True)

    class Meta:
        model = Ticket
        fields = ["id", "key", "title", "description", "kind", "priority", "status", "requester", "owner_pm",
                  "assignees", "aarrr_stage", "target_metric", "expected_change", "due_date", "labels", "links",
                  "parent", "rejection_reason", "outcome", "analysis_summary", "launched_at", "concluded_at",
                  "feedback_count", "version", "created_at", "updated_at"]


class TicketMoveOutputSerializer(serializers.Serializer):
    to = serializers.CharField(help_text="The state the ticket would move to.")
    label = serializers.CharField()
    allowed = serializers.BooleanField(help_text="Whether this user may make the move now (role and gate).")
    needs = serializers.CharField(help_text="What the move asks for besides (a reason, an outcome…), if anything.")
    reason = serializers.CharField(help_text="Why the move is not allowed now, and what opens it; empty if it is.")


class TicketDetailOutputSerializer(TicketOutputSerializer):
    allowed_moves = serializers.SerializerMethodField(
        help_text="The states this user may move the ticket to now: the role allows it and its gate is open (the "
                  "ticket page's rule, products/services/gates.py).")
    moves = serializers.SerializerMethodField(help_text="Every next state, allowed or not, and why not.")

    class Meta(TicketOutputSerializer.Meta):
        fields = [*TicketOutputSerializer.Meta.fields, "allowed_moves", "moves"]

    def _gates(self, ticket):
        """The ticket's moves for this user, worked out once per ticket (a few queries: its plans and analyses)."""
        known = self.__dict__.setdefault("_gates_of", {})
        if ticket.pk not in known:
            known[ticket.pk] = ticket_gates(ticket=ticket, user=self.context["request"].user)
        return known[ticket.pk]

    def get_allowed_moves(self, ticket) -> list[str]:
        return [move.to for move in self._gates(ticket).moves if move.allowed]

    @extend_schema_field(TicketMoveOutputSerializer(many=True))
    def get_moves(self, ticket) -> list[dict]:
        return [{"to": move.to, "label": move.label, "allowed": move.allowed, "needs": str(move.needs),
                 "reason": str(move.reason)} for move in self._gates(ticket).moves]


class LinkSerializer(serializers.Serializer):
    kind = serializers.RegexField(r"^(merchant|segment|campaign)$", help_text="merchant, segment or campaign",
                                  error_messages={"invalid": "Choose merchant, segment or campaign."})
    ref = serializers.CharField(max_length=100)


class TicketInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=50_000)
    kind = serializers.ChoiceField(choices=Ticket.Kind.choices, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    owner_pm = serializers.SlugRelatedField(
        slug_field="username", queryset=selectors.ticket_owner_candidates(), required=False, allow_null=True,
        error_messages={"does_not_exist": "No active product manager is called “{value}”; the owner must have the PM "
                                          "role."})
    assignees = _staff_field(many=True, required=False)
    aarrr_stage = serializers.ChoiceField(choices=Ticket.Stage.choices, required=False, allow_blank=True)
    target_metric = serializers.ChoiceField(choices=Ticket.Metric.choices, required=False, allow_blank=True)
    expected_change = serializers.CharField(required=False, allow_blank=True, max_length=200)
    due_date = serializers.DateField(required=False, allow_null=True)
    labels = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=20)
    links = LinkSerializer(many=True, required=False)


class TicketUpdateInputSerializer(TicketInputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    version = IdField(help_text="The version you loaded; a stale one is a 409.")


class TicketFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=Ticket.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Ticket.Kind.choices, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    stage = serializers.ChoiceField(choices=Ticket.Stage.choices, required=False)
    owner_pm = IdField(required=False)
    requester = IdField(required=False)
    assignee = IdField(required=False)
    label = serializers.CharField(required=False, max_length=40)
    q = serializers.CharField(required=False, max_length=200)
    mine = serializers.BooleanField(required=False, default=False)
    open = serializers.BooleanField(required=False, default=False)


def ticket_filters(request) -> dict:
    data = request.query_params.copy()
    params = TicketFilterSerializer(data={**data.dict(), "status": data.getlist("status")} if "status" in data
                                    else data)
    params.is_valid(raise_exception=True)
    filters = dict(params.validated_data)
    filters["status"] = sorted(filters.get("status") or [])
    filters["mine"] = request.user if filters.pop("mine", False) else None
    filters["open_only"] = filters.pop("open", False)
    return filters


class TicketListCreateApi(ListAPIView):
    """Requirement tickets, filterable (status may repeat), paginated; POST files a new one."""

    role_area = Area.TICKETS
    serializer_class = TicketOutputSerializer
    filter_backends: list = []

    @extend_schema(parameters=[TicketFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.ticket_list(**ticket_filters(self.request))

    @extend_schema(request=TicketInputSerializer, responses={201: TicketDetailOutputSerializer})
    def post(self, request):
        params = TicketInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        ticket = ticket_create(requester=request.user, **params.validated_data)
        ticket = selectors.ticket_get(ticket_id=ticket.pk)
        return Response(TicketDetailOutputSerializer(ticket, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class TicketDetailApi(APIView):
    """One ticket with the moves the caller may make; PATCH edits fields with the version you loaded."""

    role_area = Area.TICKETS

    @extend_schema(responses=TicketDetailOutputSerializer)
    def get(self, request, ticket_id: int):
        return Response(TicketDetailOutputSerializer(_ticket_or_404(ticket_id), context={"request": request}).data)

    @extend_schema(request=TicketUpdateInputSerializer, responses=TicketDetailOutputSerializer)
    def patch(self, request, ticket_id: int):
        params = TicketUpdateInputSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        if "version" not in data:
            raise serializers.ValidationError({"version": ["The version you loaded is required."]})
        ticket_update(ticket_id=ticket_id, actor=request.user, **data)
        return Response(TicketDetailOutputSerializer(_ticket_or_404(ticket_id), context={"request": request}).data)


def _one_of(values, value: str, what: str) -> str:
    if value not in values:
        raise serializers.ValidationError(f"“{value}” is not a valid {what}; choose one of: {', '.join(values)}.")
    return value


class TicketMoveInputSerializer(serializers.Serializer):
    to_status = serializers.CharField(max_length=20, help_text="The state to move to (see Ticket status).")

    def validate_to_status(self, value):
        return _one_of(Ticket.Status.values, value, "status")

    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    version = IdField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    outcome = serializers.CharField(required=False, allow_blank=True, max_length=10)
    analysis_summary = serializers.CharField(required=False, allow_blank=True, max_length=20_000)


class TicketMoveApi(APIView):
    """Move a ticket along the workflow (403 when your role may not make this move; 400 when a gate is closed)."""

    role_area = Area.TICKETS

    @extend_schema(request=TicketMoveInputSerializer, responses=TicketDetailOutputSerializer)
    def post(self, request, ticket_id: int):
        params = TicketMoveInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        ticket_move(ticket_id=ticket_id, actor=request.user, **params.validated_data)
        return Response(TicketDetailOutputSerializer(_ticket_or_404(ticket_id), context={"request": request}).data)


class HistoryEntrySerializer(serializers.Serializer):
    kind = serializers.CharField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor.username", read_only=True, allow_null=True)
    to = serializers.CharField(required=False)
    comment = serializers.CharField(required=False)
    field = serializers.CharField(required=False)
    before = serializers.JSONField(required=False)
    after = serializers.JSONField(required=False)
    body = serializers.CharField(required=False)

    def to_representation(self, entry):
        data = super().to_representation(entry)
        data["from"] = entry.get("from")
        return {key: value for key, value in data.items() if value is not None or key in ("before", "after")}


class TicketHistoryApi(APIView):
    """Moves, field changes (before/after) and comments, oldest first."""

    role_area = Area.TICKETS

    @extend_schema(responses=HistoryEntrySerializer(many=True))
    def get(self, request, ticket_id: int):
        ticket = _ticket_or_404(ticket_id)
        return Response(HistoryEntrySerializer(selectors.ticket_history(ticket=ticket), many=True).data)


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True)
    body = serializers.CharField(max_length=10_000)
    mentions = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)


    def get_mentions(self, comment) -> list[str]:
        return [person.username for person in comment.mentions.all()]


class TicketCommentApi(APIView):
    """Comments; ``@username`` mentions notify that person and make them a watcher."""

    role_area = Area.TICKETS

    @extend_schema(responses=CommentSerializer(many=True))
    def get(self, request, ticket_id: int):
        ticket = _ticket_or_404(ticket_id)
        return Response(CommentSerializer(selectors.ticket_comment_list(ticket=ticket), many=True).data)

    @extend_schema(request=CommentSerializer, responses={201: CommentSerializer})
    def post(self, request, ticket_id: int):
        params = CommentSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        comment = ticket_comment_add(ticket_id=ticket_id, author=request.user, body=params.validated_data["body"])
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class TicketWatchApi(APIView):
    """POST: watch the ticket; DELETE: stop watching."""

    role_area = Area.TICKETS

    @extend_schema(request=None, responses=inline_serializer("Watching", {"watching": serializers.BooleanField()}))
    def post(self, request, ticket_id: int):
        return Response({"watching": ticket_watch(ticket_id=ticket_id, user=request.user, watching=True)})

    @extend_schema(request=None, responses=inline_serializer("NotWatching", {"watching": serializers.BooleanField()}))
    def delete(self, request, ticket_id: int):
        return Response({"watching": ticket_watch(ticket_id=ticket_id, user=request.user, watching=False)})


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_url(self, attachment) -> str:
        """The file, for readers of the ticket (never a public media URL)."""
        return reverse("ticket-attachment-file", args=[attachment.ticket_id, attachment.pk])


class AttachmentInputSerializer(serializers.Serializer):
    file = serializers.FileField()


class TicketAttachmentApi(APIView):
    """Attachments (multipart ``file``; at most 5 MB; png, jpg, gif, pdf, txt, md, csv, xlsx)."""

    role_area = Area.TICKETS
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=AttachmentSerializer(many=True))
    def get(self, request, ticket_id: int):
        ticket = _ticket_or_404(ticket_id)
        return Response(AttachmentSerializer(selectors.ticket_attachment_list(ticket=ticket), many=True).data)

    @extend_schema(request={"multipart/form-data": AttachmentInputSerializer}, responses={201: AttachmentSerializer})
    def post(self, request, ticket_id: int):
        params = AttachmentInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        attachment = ticket_attachment_add(ticket_id=ticket_id, user=request.user, upload=params.validated_data["file"])
        return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)


class ServeAnyType(BaseContentNegotiation):
    """The file goes out in its own type whatever the client accepts (errors still answer in JSON)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class TicketAttachmentFileApi(APIView):
    """One attachment's file, for whoever may read its ticket: images and PDF inline, every other type as a
    download (``Content-Disposition: attachment``), in the type recorded when it was uploaded."""

    role_area = Area.TICKETS
    content_negotiation_class = ServeAnyType

    @extend_schema(responses={(200, media_type): OpenApiTypes.BINARY for media_type in sorted(
        {"application/octet-stream", *(t + "; charset=utf-8" if t.startswith("text/") else t
                                       for t in ATTACHMENT_TYPES.values())})})
    def get(self, request, ticket_id: int, attachment_id: int):
        attachment = selectors.ticket_attachment_get(ticket_id=ticket_id, attachment_id=attachment_id)
        if attachment is None:
            raise NotFound("No such attachment.")
        try:
            return stored_file_response(attachment.file, name=attachment.name, content_type=attachment.content_type)
        except Http404 as exc:
            raise NotFound(str(exc)) from exc


class IterationInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=50_000)


class IterationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.CharField()


class TicketIterationApi(APIView):
    """GET: the chain of iterations through this ticket; POST: start the next iteration of a concluded ticket."""

    role_area = Area.ITERATIONS

    @extend_schema(responses=IterationSerializer(many=True))
    def get(self, request, ticket_id: int):
        ticket = _ticket_or_404(ticket_id)
        return Response(IterationSerializer(selectors.ticket_iteration_chain(ticket=ticket), many=True).data)

    @extend_schema(request=IterationInputSerializer, responses={201: TicketDetailOutputSerializer})
    def post(self, request, ticket_id: int):
        params = IterationInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        child = ticket_iterate(ticket_id=ticket_id, actor=request.user, **params.validated_data)
        return Response(TicketDetailOutputSerializer(selectors.ticket_get(ticket_id=child.pk),
                                                     context={"request": request}).data, status=status.HTTP_201_CREATED)


# Tracking plans


class PlanOutputSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="draft, in_review, approved or changes_requested")
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TrackingPlan
        fields = ["version", "status", "events", "author", "reviewer", "review_comment", "created_at", "reviewed_at"]


class PlanInputSerializer(serializers.Serializer):
    events = serializers.JSONField(help_text="[{name, description, properties: [{name, type, required, allowed?, "
                                              "pattern?}]}]")


class TicketPlanListApi(APIView):
    """The ticket's tracking plan versions (newest first); POST saves the draft (or starts a new version)."""

    role_area = Area.TRACKING_PLANS

    @extend_schema(responses=PlanOutputSerializer(many=True))
    def get(self, request, ticket_id: int):
        ticket = _ticket_or_404(ticket_id)
        return Response(PlanOutputSerializer(selectors.plan_list(ticket=ticket), many=True).data)

    @extend_schema(request=PlanInputSerializer, responses={201: PlanOutputSerializer})
    def post(self, request, ticket_id: int):
        params = PlanInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        plan = tracking_plan_save(ticket_id=ticket_id, actor=request.user, events=params.validated_data["events"])
        return Response(PlanOutputSerializer(plan).data, status=status.HTTP_201_CREATED)


def _plan_or_404(ticket_id: int, version: int) -> TrackingPlan:
    plan = selectors.plan_get(ticket_id=ticket_id, version=version)
    if plan is None:
        raise NotFound("No such plan version.")
    return plan


class TicketPlanDetailApi(APIView):
    role_area = Area.TRACKING_PLANS

    @extend_schema(responses=PlanOutputSerializer)
    def get(self, request, ticket_id: int, version: int):
        return Response(PlanOutputSerializer(_plan_or_404(ticket_id, version)).data)


class TicketPlanSubmitApi(APIView):
    """Send a draft for review (PMs)."""

    role_area = Area.TRACKING_PLANS

    @extend_schema(request=None, responses=PlanOutputSerializer)
    def post(self, request, ticket_id: int, version: int):
        return Response(PlanOutputSerializer(tracking_plan_submit(ticket_id=ticket_id, version=version,
                                                                  actor=request.user)).data)


class PlanReviewInputSerializer(serializers.Serializer):
    approve = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class TicketPlanReviewApi(APIView):
    """Approve a plan in review, or request changes with a comment (analysts)."""

    role_area = Area.PLAN_REVIEW

    @extend_schema(request=PlanReviewInputSerializer, responses=PlanOutputSerializer)
    def post(self, request, ticket_id: int, version: int):
        params = PlanReviewInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        plan = tracking_plan_review(ticket_id=ticket_id, version=version, actor=request.user, **params.validated_data)
        return Response(PlanOutputSerializer(plan).data)


class TicketPlanSchemaApi(APIView):
    """The plan version as JSON Schema (2020-12)."""

    role_area = Area.TRACKING_PLANS

    @extend_schema(responses={200: dict})
    def get(self, request, ticket_id: int, version: int):
        plan = _plan_or_404(ticket_id, version)
        return Response(plan_json_schema(title=f"{plan.ticket.key} tracking plan v{plan.version}", events=plan.events))


class PlanDiffInputSerializer(serializers.Serializer):
    base = IdField()
    other = IdField()


class TicketPlanDiffApi(APIView):
    """What changed from version ``base`` to version ``other``."""

    role_area = Area.TRACKING_PLANS

    @extend_schema(parameters=[PlanDiffInputSerializer], responses={200: dict})
    def get(self, request, ticket_id: int):
        params = PlanDiffInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        base = _plan_or_404(ticket_id, params.validated_data["base"])
        other = _plan_or_404(ticket_id, params.validated_data["other"])
        return Response({"base": base.version, "other": other.version, **plan_diff(base.events, other.events)})


class TrackingCheckSerializer(serializers.ModelSerializer):
    plan_version = serializers.IntegerField(source="plan.version")

    class Meta:
        model = TrackingCheck
        fields = ["id", "plan_version", "date_from", "date_to", "result", "checked_at"]


class TrackingCheckInputSerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class TicketTrackingCheckApi(APIView):
    """GET: the latest stored check; POST: check the range's events against the approved plan now."""

    role_area = Area.TRACKING_CHECKS

    @extend_schema(responses=TrackingCheckSerializer)
    def get(self, request, ticket_id: int):
        check = selectors.tracking_check_latest(ticket=_ticket_or_404(ticket_id))
        if check is None:
            raise NotFound("The ticket has not been checked yet.")
        return Response(TrackingCheckSerializer(check).data)

    @extend_schema(request=TrackingCheckInputSerializer, responses={201: TrackingCheckSerializer})
    def post(self, request, ticket_id: int):
        params = TrackingCheckInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        with statement_timeout():
            check = tracking_check_run(ticket_id=ticket_id, actor=request.user, **params.validated_data)
        return Response(TrackingCheckSerializer(check).data, status=status.HTTP_201_CREATED)


class TrackingHealthApi(APIView):
    """The last days' events against every approved plan: events no plan defines, the worst violations."""

    role_area = Area.TRACKING_CHECKS

    @extend_schema(parameters=[inline_serializer("TrackingHealthParams", {
        "days": serializers.IntegerField(required=False, min_value=1, max_value=31)})], responses={200: dict})
    def get(self, request):
        days = serializers.IntegerField(min_value=1, max_value=31)
        try:
            value = days.run_validation(request.query_params.get("days", 7))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"days": exc.detail}) from exc
        with statement_timeout():
            health = selectors.tracking_health(days=value)
        return Response({**health, "date_from": health["date_from"].isoformat(),
                         "date_to": health["date_to"].isoformat()})


# Launch impact


class ImpactSerializer(serializers.ModelSerializer):
    metric = serializers.CharField(read_only=True)
    analyst = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImpactAnalysis
        fields = ["id", "metric", "window_days", "before_from", "before_to", "after_from", "after_to", "numbers",
                  "p_value", "conclusion", "analyst", "created_at"]


class ImpactInputSerializer(serializers.Serializer):
    window_days = serializers.IntegerField(min_value=1, max_value=60)
    metric = serializers.CharField(required=False, max_length=30, help_text="The metric (default: the ticket's).")
    conclusion = serializers.CharField(required=False, allow_blank=True, max_length=5000)


    def validate_metric(self, value):
        return _one_of(Ticket.Metric.values, value, "metric")


class TicketImpactApi(APIView):
    """GET: the stored analyses (newest first); POST (analysts): measure before/after the launch and store it."""

    role_area = Area.IMPACT

    @extend_schema(responses=ImpactSerializer(many=True))
    def get(self, request, ticket_id: int):
        ticket = _ticket_or_404(ticket_id)
        return Response(ImpactSerializer(ticket.analyses.select_related("analyst"), many=True).data)

    @extend_schema(request=ImpactInputSerializer, responses={201: ImpactSerializer})
    def post(self, request, ticket_id: int):
        params = ImpactInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        analysis = impact_analysis_create(ticket_id=ticket_id, actor=request.user, **params.validated_data)
        return Response(ImpactSerializer(analysis).data, status=status.HTTP_201_CREATED)


LAUNCH_RANGE = DateRange(max_days=3660)  # launch markers for a chart's range: both ends given, at most ten years


class LaunchInputSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()

    def validate(self, attrs):
        return LAUNCH_RANGE.validate_attrs(attrs)


class LaunchSerializer(serializers.Serializer):
    ticket_id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    date = serializers.DateField()
    launched_at = serializers.DateTimeField()


class LaunchListApi(APIView):
    """Launch markers for charts: tickets launched between two local dates."""

    role_area = Area.TICKETS

    @extend_schema(parameters=[LaunchInputSerializer], responses=LaunchSerializer(many=True))
    def get(self, request):
        params = LaunchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(LaunchSerializer(selectors.launches_in_range(**params.validated_data), many=True).data)


# Feedback


class FeedbackSerializer(serializers.ModelSerializer):
    ticket_key = serializers.SerializerMethodField()

    class Meta:
        model = FeedbackItem
        fields = ["id", "source", "who", "text", "category", "ticket", "ticket_key", "created_at", "triaged_at"]
        read_only_fields = ["ticket", "created_at", "triaged_at"]

    def get_ticket_key(self, item) -> str | None:
        return item.ticket.key if item.ticket_id else None


class FeedbackFilterSerializer(serializers.Serializer):
    triaged = serializers.BooleanField(required=False, allow_null=True, default=None)
    source = serializers.ChoiceField(choices=FeedbackItem.Source.choices, required=False)
    category = serializers.ChoiceField(choices=FeedbackItem.Category.choices, required=False)
    ticket_id = IdField(required=False)


class FeedbackListCreateApi(ListAPIView):
    """Customer and merchant feedback, filterable and paginated; POST logs an item."""

    role_area = Area.FEEDBACK
    serializer_class = FeedbackSerializer
    filter_backends: list = []

    @extend_schema(parameters=[FeedbackFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = FeedbackFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.feedback_list(**params.validated_data)

    @extend_schema(request=FeedbackSerializer, responses={201: FeedbackSerializer})
    def post(self, request):
        params = FeedbackSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        item = feedback_create(created_by=request.user, **params.validated_data)
        return Response(FeedbackSerializer(item).data, status=status.HTTP_201_CREATED)


class FeedbackTriageInputSerializer(serializers.Serializer):
    feedback_ids = serializers.ListField(child=IdField(), min_length=1, max_length=500)
    ticket = IdField()


class FeedbackTriageApi(APIView):
    """Attach feedback items to a ticket (product ops, PMs); the ticket counts how many asked for it."""

    role_area = Area.FEEDBACK_TRIAGE

    @extend_schema(request=FeedbackTriageInputSerializer, responses=TicketOutputSerializer)
    def post(self, request):
        params = FeedbackTriageInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        ticket = feedback_triage(actor=request.user, feedback_ids=params.validated_data["feedback_ids"],
                                 ticket_id=params.validated_data["ticket"])
        return Response(TicketOutputSerializer(selectors.ticket_get(ticket_id=ticket.pk)).data)


# Notifications


class NotificationSerializer(serializers.ModelSerializer):
    ticket_key = serializers.CharField(source="ticket.key")
    text = serializers.CharField(read_only=True, help_text="The notification in the caller's language (from code and "
                                                           "params); message keeps the site's language.")

    class Meta:
        model = Notification
        fields = ["id", "ticket", "ticket_key", "message", "code", "params", "text", "created_at", "read_at"]


class NotificationListApi(ListAPIView):
    """Your notifications, newest first (``unread=true`` for the unread ones)."""

    role_area = Area.TICKETS
    serializer_class = NotificationSerializer
    filter_backends: list = []

    def get_queryset(self):
        unread = serializers.BooleanField().to_internal_value(self.request.query_params.get("unread", "false"))
        return selectors.notification_list(user=self.request.user, unread_only=unread)


class NotificationReadInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=IdField(), required=False, max_length=1000)


class NotificationReadApi(APIView):
    """Mark your notifications read (all, or ``ids``)."""

    role_area = Area.TICKETS

    @extend_schema(request=NotificationReadInputSerializer,
                   responses=inline_serializer("NotificationsRead", {"marked": serializers.IntegerField()}))
    def post(self, request):
        params = NotificationReadInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return Response({"marked": notifications_mark_read(user=request.user, ids=params.validated_data.get("ids")),
                         "at": timezone.now()})
