"""The merchants API (/api/v1/merchants/…). Thin: parse, check the role (RolePermission + role_area), call one
service or selector, serialize. Ownership (merchant ops change their own merchants) is enforced by the services
(403 with a message); what a role may see is scoped in the selectors."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from merchants import selectors
from merchants.models import (
    Campaign,
    CampaignInvite,
    Course,
    Merchant,
    MerchantContact,
    MerchantMetrics,
    MerchantStageMove,
    MerchantTierChange,
    Tier,
    TrainingSession,
)
from merchants.overview import merchant_overview
from merchants.services.campaigns import (
    campaign_create,
    campaign_invite,
    campaign_invite_respond,
    campaign_results,
    campaign_update,
)
from merchants.services.imports import merchants_import, merchants_report
from merchants.services.metrics import merchant_tier_set
from merchants.services.pipeline import (
    merchant_create,
    merchant_move_stage,
    merchant_reassign,
    merchant_update,
    recruitment_target_create,
    recruitment_target_update,
)
from merchants.services.relationship import contact_log, follow_up_complete
from merchants.services.training import (
    course_create,
    course_update,
    training_attendance_mark,
    training_enrol,
    training_session_create,
    training_session_update,
)
from ops_platform.core import exports
from ops_platform.core.exceptions import ApplicationError
from ops_platform.core.fields import IdField
from ops_platform.core.pickers import PICKER_LIMIT, PICKER_MAX_LIMIT, PICKER_QUERY_MAX, picker_page
from ops_platform.core.roles import Action, Area


def _staff_field(**kwargs):
    return serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.filter(is_active=True),
                                        **kwargs)


def _merchant_or_404(merchant_id: int) -> Merchant:
    merchant = selectors.merchant_get(merchant_id=merchant_id)
    if merchant is None:
        raise NotFound("No such merchant.")
    return merchant


# Merchants


class MerchantOutputSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_stale = serializers.BooleanField(read_only=True)
    loss_reason = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = Merchant
        fields = ["id", "code", "name", "category", "city", "district", "address", "contact_person", "contact_phone",
                  "source", "tags", "stage", "owner", "is_stale", "stage_changed_at", "contacted_at", "negotiating_at",
                  "signed_at", "live_at", "paused_at", "terminated_at", "loss_reason", "loss_note", "tier",
                  "tier_since", "health_score", "expected_monthly_gmv", "created_at"]


class MerchantInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=100)
    city = serializers.CharField(max_length=100)
    district = serializers.CharField(max_length=100, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    contact_person = serializers.CharField(max_length=100, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=20)
    expected_monthly_gmv = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False,
                                                    allow_null=True)
    owner = _staff_field(required=False, allow_null=True)


class MerchantUpdateInputSerializer(MerchantInputSerializer):
    code = None
    owner = None
    name = serializers.CharField(max_length=200, required=False)
    category = serializers.CharField(max_length=100, required=False)
    city = serializers.CharField(max_length=100, required=False)


class MerchantFilterSerializer(serializers.Serializer):
    stage = serializers.MultipleChoiceField(choices=Merchant.Stage.choices, required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    city = serializers.CharField(required=False, max_length=100)
    category = serializers.CharField(required=False, max_length=100)
    owner = IdField(required=False)
    stale = serializers.BooleanField(required=False, allow_null=True, default=None)
    q = serializers.CharField(required=False, max_length=200)
    mine = serializers.BooleanField(required=False, default=False)


def merchant_filters(request) -> dict:
    data = request.query_params
    raw = {key: data.get(key) for key in data if key != "stage"}
    if "stage" in data:
        raw["stage"] = data.getlist("stage")
    params = MerchantFilterSerializer(data=raw)
    params.is_valid(raise_exception=True)
    filters = dict(params.validated_data)
    filters["stage"] = sorted(filters.get("stage") or []) or None
    filters["mine"] = request.user if filters.pop("mine", False) else None
    return filters


class MerchantListCreateApi(ListAPIView):
    """Merchants, filterable (stage may repeat), paginated; POST adds a lead (merchant ops own what they add)."""

    role_area = Area.MERCHANTS
    serializer_class = MerchantOutputSerializer
    filter_backends: list = []

    @extend_schema(parameters=[MerchantFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.merchant_list(**merchant_filters(self.request))

    @extend_schema(request=MerchantInputSerializer, responses={201: MerchantOutputSerializer})
    def post(self, request):
        params = MerchantInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        merchant = merchant_create(user=request.user, **params.validated_data)
        return Response(MerchantOutputSerializer(_merchant_or_404(merchant.pk)).data, status=status.HTTP_201_CREATED)


class MerchantDetailApi(APIView):
    role_area = Area.MERCHANTS

    @extend_schema(responses=MerchantOutputSerializer)
    def get(self, request, merchant_id: int):
        return Response(MerchantOutputSerializer(_merchant_or_404(merchant_id)).data)

    @extend_schema(request=MerchantUpdateInputSerializer, responses=MerchantOutputSerializer)
    def patch(self, request, merchant_id: int):
        params = MerchantUpdateInputSerializer(data=request.data, partial=True)
        params.is_valid(raise_exception=True)
        merchant_update(user=request.user, merchant_id=merchant_id, **params.validated_data)
        return Response(MerchantOutputSerializer(_merchant_or_404(merchant_id)).data)


class StageMoveSerializer(serializers.ModelSerializer):
    # "" for the merchant's first stage (created, moved from nowhere)
    from_stage = serializers.ChoiceField(choices=Merchant.Stage.choices, allow_blank=True, read_only=True)
    moved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reason = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = MerchantStageMove
        fields = ["id", "from_stage", "to_stage", "moved_by", "moved_at", "reason", "note"]


class StageMoveInputSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=Merchant.Stage.choices)
    reason = IdField(required=False, allow_null=True,
                                      help_text="A loss reason id (required to terminate).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class MerchantStageMoveApi(APIView):
    """The merchant's pipeline moves (newest first); POST moves it (only to an allowed next stage)."""

    role_area = Area.MERCHANTS

    @extend_schema(responses=StageMoveSerializer(many=True))
    def get(self, request, merchant_id: int):
        _merchant_or_404(merchant_id)
        return Response(StageMoveSerializer(selectors.merchant_stage_moves(merchant_id=merchant_id)[:200],
                                            many=True).data)

    @extend_schema(request=StageMoveInputSerializer, responses={201: StageMoveSerializer})
    def post(self, request, merchant_id: int):
        params = StageMoveInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        move = merchant_move_stage(user=request.user, merchant_id=merchant_id, **params.validated_data)
        return Response(StageMoveSerializer(move).data, status=status.HTTP_201_CREATED)


class ContactSerializer(serializers.ModelSerializer):
    logged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MerchantContact
        fields = ["id", "merchant", "kind", "notes", "outcome", "happened_at", "logged_by", "follow_up_on",
                  "follow_up_done_at"]


class ContactInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=MerchantContact.Kind.choices)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    outcome = serializers.CharField(required=False, allow_blank=True, max_length=300)
    follow_up_on = serializers.DateField(required=False, allow_null=True)


class MerchantContactApi(APIView):
    """The relationship log of a merchant (newest first); POST logs a contact with its next follow-up."""

    role_area = Area.MERCHANTS

    @extend_schema(responses=ContactSerializer(many=True))
    def get(self, request, merchant_id: int):
        _merchant_or_404(merchant_id)
        return Response(ContactSerializer(selectors.merchant_contacts(merchant_id=merchant_id)[:200], many=True).data)

    @extend_schema(request=ContactInputSerializer, responses={201: ContactSerializer})
    def post(self, request, merchant_id: int):
        params = ContactInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        contact = contact_log(user=request.user, merchant_id=merchant_id, **params.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class FollowUpListApi(APIView):
    """My open follow-ups: due today and overdue."""

    role_area = Area.MERCHANTS

    @extend_schema(responses=inline_serializer("FollowUpsDue", {
        "today": ContactSerializer(many=True), "overdue": ContactSerializer(many=True)}))
    def get(self, request):
        due = selectors.follow_ups_due(user=request.user)
        return Response({key: ContactSerializer(rows, many=True).data for key, rows in due.items()})


class FollowUpCompleteInputSerializer(ContactInputSerializer):
    follow_up_on = None
    next_follow_up_on = serializers.DateField(required=False, allow_null=True)


class FollowUpCompleteApi(APIView):
    """Do a follow-up: it is marked done and the new contact is logged (with the next follow-up it proposes)."""

    role_area = Area.MERCHANTS

    @extend_schema(request=FollowUpCompleteInputSerializer, responses={201: ContactSerializer})
    def post(self, request, contact_id: int):
        params = FollowUpCompleteInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        contact = follow_up_complete(user=request.user, contact_id=contact_id, **params.validated_data)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class MetricsSerializer(serializers.ModelSerializer):
    class Meta:
        model = MerchantMetrics
        fields = ["period_start", "days", "complete", "orders", "gmv", "customers", "repeat_rate", "avg_rating",
                  "review_count", "low_rating_share", "orders_wow", "health_score", "tier", "indicated_tier",
                  "computed_at"]

    complete = serializers.BooleanField(read_only=True, help_text="The whole week is counted (7 days); a week in "
                                        "progress (the week so far) is never judged: its tier is the one in force.")


class ProblemSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    evidence = serializers.CharField()
    advice = serializers.CharField()


class MerchantHealthApi(APIView):
    """Weekly metrics (up to 12 weeks), the diagnosis, the next best actions, training and campaigns."""

    role_area = Area.MERCHANTS

    @extend_schema(responses=inline_serializer("MerchantHealth", {
        "metrics": MetricsSerializer(many=True), "problems": ProblemSerializer(many=True),
        "week_so_far": serializers.DictField(allow_null=True),
        "next_actions": serializers.ListField(child=serializers.CharField()),
        "growth_level": serializers.CharField(), "certified": serializers.BooleanField(),
        "missing_courses": serializers.ListField(child=serializers.CharField()),
        "campaigns": serializers.ListField(child=serializers.DictField())}))
    def get(self, request, merchant_id: int):
        data = merchant_overview(merchant=_merchant_or_404(merchant_id), user=request.user, with_analytics=False)
        return Response({
            "metrics": MetricsSerializer(data["series"], many=True).data,
            "problems": ProblemSerializer(data["problems"], many=True).data,
            "week_so_far": ({**data["week_so_far"], "week": data["week_so_far"]["week"].isoformat()}
                            if data["week_so_far"] else None),
            "next_actions": data["next_actions"],
            "growth_level": data["training"]["growth_level"], "certified": data["training"]["certified"],
            "missing_courses": [course.code for course in data["training"]["missing"]],
            "campaigns": [{"campaign": i.campaign_id, "name": i.campaign.name, "status": i.status}
                          for i in data["invites"]],
        })


class ReassignInputSerializer(serializers.Serializer):
    merchants = serializers.ListField(child=IdField(), max_length=1000)
    owner = _staff_field(allow_null=True)


class MerchantReassignApi(APIView):
    """The lead (admin) gives merchants to another merchant operator."""

    role_area = Area.MERCHANT_ASSIGN
    role_action = Action.CHANGE

    @extend_schema(request=ReassignInputSerializer, responses=inline_serializer("Reassigned", {
        "changed": serializers.IntegerField()}))
    def post(self, request):
        params = ReassignInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        changed = merchant_reassign(user=request.user, merchant_ids=params.validated_data["merchants"],
                                    owner=params.validated_data["owner"])
        return Response({"changed": changed})


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX; first row names the columns.")


class MerchantImportApi(APIView):
    """Import merchants from CSV or XLSX: all rows or none; a refused file answers 400 with errors per row."""

    role_area = Area.MERCHANTS
    role_action = Action.CHANGE
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": ImportInputSerializer},
                   responses={201: inline_serializer("Imported", {"created": serializers.IntegerField()})})
    def post(self, request):
        params = ImportInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        created = merchants_import(user=request.user, filename=upload.name, data=upload.read(5 * 1024 * 1024 + 1))
        return Response({"created": created}, status=status.HTTP_201_CREATED)


class MerchantExportApi(APIView):
    """The filtered merchant list as CSV (same filters as the list)."""

    role_area = Area.MERCHANTS

    @extend_schema(parameters=[MerchantFilterSerializer], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        return exports.csv_response(merchants_report(merchants=selectors.merchant_list(**merchant_filters(request))))


# Targets and tiers


class TargetInputSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    category = serializers.CharField(required=False, allow_blank=True, max_length=100)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    target = serializers.IntegerField(min_value=1, max_value=1_000_000)


class TargetProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="target.id")
    period_start = serializers.DateField(source="target.period_start")
    period_end = serializers.DateField(source="target.period_end")
    category = serializers.CharField(source="target.category")
    city = serializers.CharField(source="target.city")
    target = serializers.IntegerField(source="target.target")
    signed = serializers.IntegerField()
    percent = serializers.IntegerField()
    expected_percent = serializers.IntegerField()


class TargetApi(APIView):
    """Recruitment targets with progress (merchants signed in the period); POST sets one (admins)."""

    role_area = Area.MERCHANT_ASSIGN

    @extend_schema(responses=TargetProgressSerializer(many=True))
    def get(self, request):
        return Response(TargetProgressSerializer(selectors.recruitment_target_progress(), many=True).data)

    @extend_schema(request=TargetInputSerializer, responses={201: TargetProgressSerializer})
    def post(self, request):
        params = TargetInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        target = recruitment_target_create(user=request.user, **params.validated_data)
        (row,) = selectors.recruitment_target_progress(target_ids=[target.pk])
        return Response(TargetProgressSerializer(row).data, status=status.HTTP_201_CREATED)


class TargetDetailApi(APIView):
    """PUT changes a recruitment target (admins)."""

    role_area = Area.MERCHANT_ASSIGN

    @extend_schema(request=TargetInputSerializer, responses=TargetProgressSerializer)
    def put(self, request, target_id: int):
        params = TargetInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        target = recruitment_target_update(user=request.user, target_id=target_id, **params.validated_data)
        (row,) = selectors.recruitment_target_progress(target_ids=[target.pk])
        return Response(TargetProgressSerializer(row).data)


class TierChangeSerializer(serializers.ModelSerializer):
    merchant_code = serializers.CharField(source="merchant.code", read_only=True)
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    rules_version = serializers.IntegerField(source="rules.version", read_only=True, allow_null=True)

    class Meta:
        model = MerchantTierChange
        fields = ["id", "merchant", "merchant_code", "from_tier", "to_tier", "period_start", "reason", "reason_code",
                  "reason_params", "rules_version", "changed_by", "changed_at"]

    reason = serializers.CharField(source="reason_text", read_only=True,
                                   help_text="In the request's language (a nightly change's text from its code).")


class TierChangeFilterSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=["up", "down"], required=False)
    since = serializers.DateField(required=False)


class TierChangeListApi(ListAPIView):
    """Tier changes (movers), newest first; ``direction`` up or down."""

    role_area = Area.MERCHANTS
    serializer_class = TierChangeSerializer
    filter_backends: list = []

    @extend_schema(parameters=[TierChangeFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = TierChangeFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.tier_changes(**params.validated_data)


class UpgradeCandidateListApi(ListAPIView):
    """Potential merchants close to core."""

    role_area = Area.MERCHANTS
    serializer_class = MerchantOutputSerializer
    queryset = Merchant.objects.none()  # for the schema; the list comes from the selector

    def get_queryset(self):
        return selectors.upgrade_candidates()


class RotateOutListApi(ListAPIView):
    """Live merchants at risk in each of the last N weeks."""

    role_area = Area.MERCHANTS
    serializer_class = MerchantOutputSerializer
    queryset = Merchant.objects.none()  # for the schema; the list comes from the selector

    def get_queryset(self):
        return selectors.rotate_out_list()


class TierBulkInputSerializer(serializers.Serializer):
    merchants = serializers.ListField(child=IdField(), min_length=1, max_length=1000)
    tier = serializers.ChoiceField(choices=Tier.choices)
    reason = serializers.CharField(max_length=300)


class TierBulkApi(APIView):
    """Bulk action on the lists: set the tier of merchants by hand (recorded with the reason). Admins."""

    role_area = Area.MERCHANT_ASSIGN
    role_action = Action.CHANGE

    @extend_schema(request=TierBulkInputSerializer, responses=inline_serializer("TierSet", {
        "changed": serializers.IntegerField()}))
    def post(self, request):
        params = TierBulkInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        changed = merchant_tier_set(user=request.user, merchant_ids=data["merchants"], tier=data["tier"],
                                    reason=data["reason"])
        return Response({"changed": changed})


# Training


class CourseSerializer(serializers.ModelSerializer):
    required_for = serializers.ListField(child=serializers.ChoiceField(choices=Tier.choices), required=False,
                                         max_length=4)

    class Meta:
        model = Course
        fields = ["id", "code", "name", "description", "required_for"]


class CourseListCreateApi(ListAPIView):
    role_area = Area.MERCHANTS
    serializer_class = CourseSerializer

    def get_queryset(self):
        return Course.objects.all()

    @extend_schema(request=CourseSerializer, responses={201: CourseSerializer})
    def post(self, request):
        params = CourseSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        course = course_create(user=request.user, **params.validated_data)
        return Response(CourseSerializer(course).data, status=status.HTTP_201_CREATED)


class CourseUpdateSerializer(CourseSerializer):
    class Meta(CourseSerializer.Meta):
        fields = ["name", "description", "required_for"]


class CourseDetailApi(APIView):
    """PUT changes a course's name, description and required tiers (its code stays)."""

    role_area = Area.MERCHANTS

    @extend_schema(responses=CourseSerializer)
    def get(self, request, course_id: int):
        course = Course.objects.filter(pk=course_id).first()
        if course is None:
            raise NotFound("No such course.")
        return Response(CourseSerializer(course).data)

    @extend_schema(request=CourseUpdateSerializer, responses=CourseSerializer)
    def put(self, request, course_id: int):
        params = CourseUpdateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        course = course_update(user=request.user, course_id=course_id, **params.validated_data)
        return Response(CourseSerializer(course).data)


class SessionSerializer(serializers.ModelSerializer):
    course = serializers.SlugRelatedField(slug_field="code", queryset=Course.objects.all())
    enrolled = serializers.IntegerField(read_only=True)

    class Meta:
        model = TrainingSession
        fields = ["id", "course", "starts_at", "trainer", "place", "online", "capacity", "enrolled"]


class SessionListCreateApi(ListAPIView):
    role_area = Area.MERCHANTS
    serializer_class = SessionSerializer

    def get_queryset(self):
        return selectors.training_session_list()

    @extend_schema(request=SessionSerializer, responses={201: SessionSerializer})
    def post(self, request):
        params = SessionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        session = training_session_create(user=request.user, **params.validated_data)
        return Response(SessionSerializer(selectors.training_session_list().get(pk=session.pk)).data,
                        status=status.HTTP_201_CREATED)


class SessionDetailApi(APIView):
    """A session; PUT changes it (never to fewer places than merchants enrolled)."""

    role_area = Area.MERCHANTS

    def _get(self, session_id: int):
        session = selectors.training_session_list().filter(pk=session_id).first()
        if session is None:
            raise NotFound("No such session.")
        return session

    @extend_schema(responses=SessionSerializer)
    def get(self, request, session_id: int):
        return Response(SessionSerializer(self._get(session_id)).data)

    @extend_schema(request=SessionSerializer, responses=SessionSerializer)
    def put(self, request, session_id: int):
        params = SessionSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        training_session_update(user=request.user, session_id=session_id, **params.validated_data)
        return Response(SessionSerializer(self._get(session_id)).data)


class MerchantPickerInputSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=PICKER_QUERY_MAX, trim_whitespace=True,
                              default="")
    session = IdField(required=False, help_text="Offer the merchants you may enrol in this training session.")
    campaign = IdField(required=False, help_text="Offer the merchants you may invite to this campaign.")
    tier = serializers.ChoiceField(required=False, choices=Tier.choices)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=PICKER_MAX_LIMIT, default=PICKER_LIMIT)

    def validate(self, attrs):
        if "session" in attrs and "campaign" in attrs:
            raise serializers.ValidationError({"campaign": [_("Give a session or a campaign, not both.")]})
        return attrs


class MerchantPickerApi(APIView):
    """The merchant pickers' search (``static/js/pickers.js``): options whose code or name holds ``q``, by code;
    ``session`` / ``campaign``: only those the user may enrol / invite there. One query (two with an id to check)."""

    role_area = Area.MERCHANTS

    @extend_schema(parameters=[MerchantPickerInputSerializer], responses=inline_serializer("MerchantPicker", {
        "results": serializers.ListField(child=inline_serializer("MerchantOption", {
            "value": serializers.IntegerField(), "text": serializers.CharField()})),
        "more": serializers.BooleanField()}))
    def get(self, request):
        params = MerchantPickerInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if "session" in data and not TrainingSession.objects.filter(pk=data["session"]).exists():
            raise ApplicationError(_("No such session."), status_code=404, code="not_found")
        if "campaign" in data and not Campaign.objects.filter(pk=data["campaign"]).exists():
            raise ApplicationError(_("No such campaign."), status_code=404, code="not_found")
        merchants = selectors.merchant_pickable(user=request.user, q=data["q"], session_id=data.get("session"),
                                                campaign_id=data.get("campaign"), tier=data.get("tier"))
        return Response(picker_page(merchants, label=str, limit=data["limit"]))


class EnrolInputSerializer(serializers.Serializer):
    merchants = serializers.ListField(child=IdField(), min_length=1, max_length=500)


class SessionEnrolApi(APIView):
    role_area = Area.MERCHANTS
    role_action = Action.CHANGE

    @extend_schema(request=EnrolInputSerializer, responses={201: inline_serializer("Enrolled", {
        "enrolled": serializers.IntegerField()})})
    def post(self, request, session_id: int):
        params = EnrolInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        added = training_enrol(user=request.user, session_id=session_id,
                               merchant_ids=params.validated_data["merchants"])
        return Response({"enrolled": added}, status=status.HTTP_201_CREATED)


class AttendanceInputSerializer(serializers.Serializer):
    attended = serializers.ListField(child=IdField(), required=False, max_length=500)
    absent = serializers.ListField(child=IdField(), required=False, max_length=500)


class SessionAttendanceApi(APIView):
    """Mark who came; merchants who now have every course required for their tier are certified."""

    role_area = Area.MERCHANTS
    role_action = Action.CHANGE

    @extend_schema(request=AttendanceInputSerializer, responses=inline_serializer("Attendance", {
        "certified": serializers.ListField(child=serializers.IntegerField())}))
    def post(self, request, session_id: int):
        params = AttendanceInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        marks = dict.fromkeys(params.validated_data.get("absent", []), False)
        marks.update(dict.fromkeys(params.validated_data.get("attended", []), True))
        certified = training_attendance_mark(user=request.user, session_id=session_id, attended=marks)
        return Response({"certified": [c.merchant_id for c in certified]})


# Campaigns


class CampaignSerializer(serializers.ModelSerializer):
    target_tiers = serializers.ListField(child=serializers.ChoiceField(choices=Tier.choices), required=False,
                                         max_length=4)
    target_categories = serializers.ListField(child=serializers.CharField(max_length=100), required=False,
                                              max_length=50)
    invited = serializers.IntegerField(read_only=True)
    accepted = serializers.IntegerField(read_only=True)
    declined = serializers.IntegerField(read_only=True)
    took_part = serializers.IntegerField(read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "kind", "starts_on", "ends_on", "budget", "target_tiers", "target_categories",
                  "invited", "accepted", "declined", "took_part", "created_at"]


class CampaignListCreateApi(ListAPIView):
    role_area = Area.MERCHANTS
    serializer_class = CampaignSerializer

    def get_queryset(self):
        return selectors.campaign_list()

    @extend_schema(request=CampaignSerializer, responses={201: CampaignSerializer})
    def post(self, request):
        params = CampaignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        campaign = campaign_create(user=request.user, **params.validated_data)
        return Response(CampaignSerializer(selectors.campaign_list().get(pk=campaign.pk)).data,
                        status=status.HTTP_201_CREATED)


class CampaignInviteSerializer(serializers.ModelSerializer):
    merchant_code = serializers.CharField(source="merchant.code", read_only=True)

    class Meta:
        model = CampaignInvite
        fields = ["id", "merchant", "merchant_code", "status", "invited_at", "responded_at"]


class SideSerializer(serializers.Serializer):
    orders = serializers.IntegerField()
    gmv = serializers.FloatField()
    customers = serializers.IntegerField()


class CampaignDetailApi(APIView):
    """A campaign with its invitations and the results of participants during vs the same length before."""

    role_area = Area.MERCHANTS

    @extend_schema(responses=inline_serializer("CampaignDetail", {
        "campaign": CampaignSerializer(), "invites": CampaignInviteSerializer(many=True),
        "results": inline_serializer("CampaignResults", {
            "days": serializers.IntegerField(), "during": SideSerializer(), "before": SideSerializer(),
            "gmv_change": serializers.FloatField(allow_null=True)})}))
    def get(self, request, campaign_id: int):
        campaign = selectors.campaign_list().filter(pk=campaign_id).first()
        if campaign is None:
            raise NotFound("No such campaign.")
        results = campaign_results(campaign=campaign)
        return Response({
            "campaign": CampaignSerializer(campaign).data,
            "invites": CampaignInviteSerializer(selectors.campaign_invites(campaign_id=campaign_id), many=True).data,
            "results": {"days": results["days"], "during": results["totals"]["during"],
                        "before": results["totals"]["before"], "gmv_change": results["totals"]["gmv_change"]},
        })

    @extend_schema(request=CampaignSerializer, responses=CampaignSerializer)
    def put(self, request, campaign_id: int):
        """Change the campaign (its creator or an administrator)."""
        params = CampaignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        campaign_update(user=request.user, campaign_id=campaign_id, **params.validated_data)
        return Response(CampaignSerializer(selectors.campaign_list().get(pk=campaign_id)).data)


class CampaignInviteInputSerializer(serializers.Serializer):
    merchants = serializers.ListField(child=IdField(), required=False, max_length=1000,
                                      help_text="Leave out to invite your live merchants of the tiers and categories.")
    tiers = serializers.ListField(child=serializers.ChoiceField(choices=Tier.choices), required=False, max_length=4,
                                  help_text="Without merchants: these tiers (default: the campaign's; [] = any).")
    categories = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50,
                                       help_text="Without merchants: these categories (default: the campaign's).")


class CampaignInviteApi(APIView):
    role_area = Area.MERCHANTS
    role_action = Action.CHANGE

    @extend_schema(request=CampaignInviteInputSerializer, responses={201: inline_serializer("Invited", {
        "invited": serializers.IntegerField()})})
    def post(self, request, campaign_id: int):
        params = CampaignInviteInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        invited = campaign_invite(user=request.user, campaign_id=campaign_id,
                                  merchant_ids=params.validated_data.get("merchants"),
                                  tiers=params.validated_data.get("tiers"),
                                  categories=params.validated_data.get("categories"))
        return Response({"invited": invited}, status=status.HTTP_201_CREATED)


class InviteRespondInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[c for c in CampaignInvite.Status.choices if c[0] != "invited"])


class CampaignInviteRespondApi(APIView):
    """invited → accepted / declined → took part."""

    role_area = Area.MERCHANTS
    role_action = Action.CHANGE

    @extend_schema(request=InviteRespondInputSerializer, responses=CampaignInviteSerializer)
    def post(self, request, invite_id: int):
        params = InviteRespondInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        invite = campaign_invite_respond(user=request.user, invite_id=invite_id, status=params.validated_data["status"])
        return Response(CampaignInviteSerializer(invite).data)
