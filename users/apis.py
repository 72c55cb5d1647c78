"""The users API (/api/v1/users/…). Thin: parse, check the role (RolePermission + role_area), call one service or
selector, serialize. Single customers need Area.CUSTOMER_RECORDS; summaries Area.CUSTOMERS."""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ops_platform.core.labels import code_label
from ops_platform.core.roles import Action, Area
from users import selectors
from users.forms import CUSTOMER_RANGE
from users.models import ChannelSpend, CouponCampaign, CouponRedemption, Customer, RfmSegment, Segment, Stage
from users.services.channels import channel_spend_delete, channel_spend_import, channel_spend_save
from users.services.coupons import (
    coupon_campaign_create,
    coupon_campaign_results,
    coupon_codes_generate,
    coupon_issue_preview,
    coupon_issue_to_customer,
    coupon_issue_to_segment,
    coupon_redemptions_refresh,
)
from users.services.segments import segment_delete, segment_preview, segment_rebuild, segment_save
from users.tasks import customers_refresh_task


def _check_year(value):
    if not (1970 <= value.year <= 2099):
        raise serializers.ValidationError("Use a date between 1970 and 2099.")
    return value


class RangeSerializer(serializers.Serializer):
    date_from = serializers.DateField(required=False, validators=[_check_year])
    date_to = serializers.DateField(required=False, validators=[_check_year])

    def validate(self, attrs):
        return CUSTOMER_RANGE.validate_attrs(attrs)


def _range(request) -> dict:
    params = RangeSerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


# Customers


class CustomerOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["distinct_id", "first_seen_at", "last_seen_at", "first_channel", "utm_source", "utm_medium",
                  "utm_campaign", "signed_up_at", "referrer", "first_order_at", "last_order_at", "orders", "spend",
                  "stage", "recency_score", "frequency_score", "monetary_score", "rfm_segment", "refreshed_at"]


class CustomerFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=200)
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    rfm_segment = serializers.ChoiceField(choices=RfmSegment.choices, required=False)
    channel = serializers.CharField(required=False, max_length=100)
    min_orders = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)


class CustomerListApi(ListAPIView):
    """Customers, newest first; filter by stage, RFM segment, first-touch channel, orders; paginated."""

    role_area = Area.CUSTOMER_RECORDS
    serializer_class = CustomerOutputSerializer
    filter_backends: list = []

    @extend_schema(parameters=[CustomerFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = CustomerFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.customer_list(**params.validated_data)


class TimelineEventSerializer(serializers.Serializer):
    event = serializers.CharField()
    timestamp = serializers.DateTimeField()
    channel = serializers.CharField()
    properties = serializers.JSONField()


class CustomerDetailOutputSerializer(CustomerOutputSerializer):
    timeline = TimelineEventSerializer(many=True, read_only=True)

    class Meta(CustomerOutputSerializer.Meta):
        fields = [*CustomerOutputSerializer.Meta.fields, "timeline"]


class CustomerDetailApi(APIView):
    """One customer with their event timeline (newest first, 200 at most)."""

    role_area = Area.CUSTOMER_RECORDS

    @extend_schema(responses=CustomerDetailOutputSerializer)
    def get(self, request, distinct_id: str):
        customer = selectors.customer_get(distinct_id=distinct_id)
        if customer is None:
            raise NotFound("No such customer.")
        customer.timeline = selectors.customer_timeline(customer=customer)
        return Response(CustomerDetailOutputSerializer(customer).data)


class CustomerRefreshApi(APIView):
    """Queue a rebuild of every customer from the events (it runs on a worker)."""

    role_area = Area.CUSTOMERS
    role_action = Action.CHANGE

    @extend_schema(request=None, responses={202: inline_serializer("RefreshQueued", {
        "queued": serializers.BooleanField()})})
    def post(self, request):
        transaction.on_commit(lambda: customers_refresh_task.delay("manual"))
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


class CustomerSummaryApi(APIView):
    """Totals, customers per life-cycle stage and the RFM grid (every role)."""

    role_area = Area.CUSTOMERS

    @extend_schema(responses=inline_serializer("CustomerSummary", {
        "customers": serializers.IntegerField(), "buyers": serializers.IntegerField(),
        "signed_up": serializers.IntegerField(), "spend": serializers.FloatField(),
        "stages": serializers.ListField(child=serializers.DictField()),
        "rfm_grid": serializers.ListField(child=serializers.DictField()),
        "rfm_segments": serializers.DictField(child=serializers.IntegerField())}))
    def get(self, request):
        return Response(selectors.customer_summary())


class LifecycleApi(APIView):
    """Customers per stage per day and the flows between stages in a range (default: the last 30 days)."""

    role_area = Area.CUSTOMERS

    @extend_schema(parameters=[RangeSerializer], responses=inline_serializer("Lifecycle", {
        "dates": serializers.ListField(child=serializers.DateField()),
        "stages": serializers.DictField(child=serializers.ListField(child=serializers.IntegerField())),
        "labels": serializers.DictField(child=serializers.CharField()),
        "flows": serializers.ListField(child=serializers.DictField())}))
    def get(self, request):
        return Response(selectors.lifecycle_report(**_range(request)))


# Channels


class ChannelQualityApi(APIView):
    """Channel quality for customers first seen in the range (metrics in the selector's docstring)."""

    role_area = Area.CUSTOMERS

    @extend_schema(parameters=[RangeSerializer], responses=inline_serializer("ChannelQuality", {
        "date_from": serializers.DateField(), "date_to": serializers.DateField(),
        "channels": serializers.ListField(child=serializers.DictField())}))
    def get(self, request):
        return Response(selectors.channel_quality(**_range(request)))


class ChannelSpendSerializer(serializers.ModelSerializer):
    period_start = serializers.DateField(validators=[_check_year])
    period_end = serializers.DateField(validators=[_check_year])
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)

    class Meta:
        model = ChannelSpend
        fields = ["id", "channel", "period_start", "period_end", "amount", "note", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators: list = []  # saving the same period replaces it


class ChannelSpendListApi(ListAPIView):
    """Spend per channel and period; POST creates or replaces the spend of a channel for a period."""

    role_area = Area.CUSTOMERS
    serializer_class = ChannelSpendSerializer
    filterset_fields = ["channel"]

    def get_queryset(self):
        return selectors.channel_spend_list()

    @extend_schema(request=ChannelSpendSerializer, responses={201: ChannelSpendSerializer})
    def post(self, request):
        params = ChannelSpendSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        spend = channel_spend_save(**params.validated_data)
        return Response(ChannelSpendSerializer(spend).data, status=status.HTTP_201_CREATED)


class ChannelSpendDetailApi(APIView):
    role_area = Area.CUSTOMERS

    @extend_schema(responses={204: None})
    def delete(self, request, spend_id: int):
        channel_spend_delete(spend_id=spend_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SpendImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX with columns channel, period_start, period_end, amount[, note]")


class ChannelSpendImportApi(APIView):
    """Import spend rows: valid rows are saved, bad rows come back with their field errors."""

    role_area = Area.CUSTOMERS
    role_action = Action.CHANGE
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": SpendImportInputSerializer},
                   responses=inline_serializer("SpendImport", {
                       "imported": serializers.IntegerField(),
                       "rejected": serializers.ListField(child=serializers.DictField())}))
    def post(self, request):
        params = SpendImportInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        return Response(channel_spend_import(content=upload.read(), filename=upload.name))


# Segments


class SegmentOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rules", "size", "built_at", "build_seconds", "created_by",
                  "created_at", "updated_at"]


class SegmentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    rules = serializers.JSONField(help_text='{"op": "and"|"or", "conditions": [...]}: see users/services/segments.py')


class SegmentPreviewInputSerializer(serializers.Serializer):
    rules = serializers.JSONField()


def _segment_or_404(segment_id: int):
    segment = selectors.segment_get(segment_id=segment_id)
    if segment is None:
        raise NotFound("No such segment.")
    return segment


class SegmentListCreateApi(ListAPIView):
    """Segments with their last size and build time; POST creates one and builds it."""

    role_area = Area.CUSTOMERS
    serializer_class = SegmentOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.segment_list()

    @extend_schema(request=SegmentInputSerializer, responses={201: SegmentOutputSerializer})
    def post(self, request):
        params = SegmentInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        segment = segment_save(actor=request.user, **params.validated_data)
        return Response(SegmentOutputSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailApi(APIView):
    role_area = Area.CUSTOMERS

    @extend_schema(responses=SegmentOutputSerializer)
    def get(self, request, segment_id: int):
        return Response(SegmentOutputSerializer(_segment_or_404(segment_id)).data)

    @extend_schema(request=SegmentInputSerializer, responses=SegmentOutputSerializer)
    def put(self, request, segment_id: int):
        segment = _segment_or_404(segment_id)
        params = SegmentInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        segment = segment_save(segment=segment, **params.validated_data)
        return Response(SegmentOutputSerializer(segment).data)

    @extend_schema(responses={204: None})
    def delete(self, request, segment_id: int):
        segment_delete(segment_id=segment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SegmentRebuildApi(APIView):
    role_area = Area.CUSTOMERS
    role_action = Action.CHANGE

    @extend_schema(request=None, responses=SegmentOutputSerializer)
    def post(self, request, segment_id: int):
        _segment_or_404(segment_id)
        return Response(SegmentOutputSerializer(segment_rebuild(segment_id=segment_id)).data)


class SegmentPreviewApi(APIView):
    """The live size of a rule tree (nothing is stored): for the roles that read customer records (a count of
    "this one customer and spend ≥ X" is that customer's spend, so previews are records, see roles.py)."""

    role_area = Area.CUSTOMER_RECORDS
    role_action = Action.VIEW  # a POST that stores nothing: reading records

    @extend_schema(request=SegmentPreviewInputSerializer, responses=inline_serializer("SegmentPreview", {
        "size": serializers.IntegerField()}))
    def post(self, request):
        params = SegmentPreviewInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return Response({"size": segment_preview(rules=params.validated_data["rules"])})


class SegmentMembersApi(ListAPIView):
    """The stored members of a segment (its last build), paginated."""

    role_area = Area.CUSTOMER_RECORDS
    serializer_class = CustomerOutputSerializer
    filter_backends: list = []

    def get_queryset(self):
        return selectors.segment_members(segment=_segment_or_404(self.kwargs["segment_id"]))


class SegmentSizesApi(APIView):
    role_area = Area.CUSTOMERS

    @extend_schema(responses=inline_serializer("SegmentSize", {
        "date": serializers.DateField(), "size": serializers.IntegerField(),
        "build_seconds": serializers.FloatField()}, many=True))
    def get(self, request, segment_id: int):
        return Response(selectors.segment_sizes(segment=_segment_or_404(segment_id)))


# Coupons


class CouponCampaignSerializer(serializers.ModelSerializer):
    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), required=False, allow_null=True)

    class Meta:
        model = CouponCampaign
        fields = ["id", "name", "kind", "discount_type", "face_value", "percent", "cap", "min_spend", "valid_from",
                  "valid_to", "budget", "per_customer_limit", "segment", "holdout_share", "funded_by",
                  "merchant_share", "committed", "created_at"]
        read_only_fields = ["id", "committed", "created_at"]


def _campaign_or_404(campaign_id: int):
    campaign = selectors.coupon_campaign_get(campaign_id=campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


class CouponCampaignListCreateApi(ListAPIView):
    """Coupon campaigns; POST creates one (user ops, admins)."""

    role_area = Area.CUSTOMERS
    serializer_class = CouponCampaignSerializer
    filterset_fields = ["kind"]

    def get_queryset(self):
        return selectors.coupon_campaign_list()

    @extend_schema(request=CouponCampaignSerializer, responses={201: CouponCampaignSerializer})
    def post(self, request):
        params = CouponCampaignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        campaign = coupon_campaign_create(actor=request.user, **params.validated_data)
        return Response(CouponCampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CouponCampaignDetailApi(APIView):
    """A campaign with its results (issued, redeemed, rate, cost, revenue, incremental revenue, ROI, by day)."""

    role_area = Area.CUSTOMERS

    @extend_schema(responses=inline_serializer("CouponCampaignWithResults", {
        "campaign": CouponCampaignSerializer(), "results": serializers.DictField()}))
    def get(self, request, campaign_id: int):
        campaign = _campaign_or_404(campaign_id)
        return Response({"campaign": CouponCampaignSerializer(campaign).data,
                         "results": coupon_campaign_results(campaign_id=campaign.pk)})


class CodeCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=200_000)


class CouponCodesApi(APIView):
    """POST generates unique codes in bulk (user ops, admins)."""

    role_area = Area.CUSTOMERS
    role_action = Action.CHANGE

    @extend_schema(request=CodeCountSerializer, responses={201: inline_serializer("CodesGenerated", {
        "generated": serializers.IntegerField()})})
    def post(self, request, campaign_id: int):
        campaign = _campaign_or_404(campaign_id)
        params = CodeCountSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        generated = coupon_codes_generate(campaign_id=campaign.pk, count=params.validated_data["count"])
        return Response({"generated": generated}, status=status.HTTP_201_CREATED)


class IssueInputSerializer(serializers.Serializer):
    customer = serializers.CharField(required=False, max_length=200,
                                     help_text="A customer's distinct_id; without it the whole target segment.")
    allow_partial = serializers.BooleanField(
        required=False, default=False,
        help_text="Segment only: when the budget cannot cover the treatment group, issue to a random sample as "
                  "large as the budget allows (the rest get no code and are in neither group). Without it such an "
                  "issue is refused with 409 budget_short and nothing is written.")


class IssuePreviewSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    holdout = serializers.IntegerField()
    treatment = serializers.IntegerField()
    at_limit = serializers.IntegerField()
    affordable = serializers.IntegerField(help_text="Codes the remaining budget pays for.")
    covered = serializers.IntegerField()
    not_covered = serializers.IntegerField()
    code_value = serializers.FloatField()
    budget_left = serializers.FloatField()
    needs_confirmation = serializers.BooleanField(help_text="True: POST needs allow_partial=true.")


class CouponIssueApi(APIView):
    """GET previews issuing to the segment (holdout, treatment group, codes the budget allows); POST issues codes to
    the campaign's segment (with its holdout) or to one customer; refused at the limit, and for a segment the budget
    cannot cover unless ``allow_partial``."""

    role_area = Area.CUSTOMERS
    role_action = Action.CHANGE

    @extend_schema(responses=IssuePreviewSerializer)
    def get(self, request, campaign_id: int):
        campaign = _campaign_or_404(campaign_id)
        return Response(IssuePreviewSerializer(coupon_issue_preview(campaign_id=campaign.pk)).data)

    @extend_schema(request=IssueInputSerializer, responses=inline_serializer("Issued", {
        "issued": serializers.IntegerField(), "holdout": serializers.IntegerField(),
        "skipped_at_limit": serializers.IntegerField(), "stopped_by_budget": serializers.BooleanField(),
        "not_covered": serializers.IntegerField(), "message": serializers.CharField()}))
    def post(self, request, campaign_id: int):
        campaign = _campaign_or_404(campaign_id)
        params = IssueInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        if params.validated_data.get("customer"):
            coupon = coupon_issue_to_customer(campaign_id=campaign.pk, distinct_id=params.validated_data["customer"])
            return Response({"issued": 1, "holdout": 0, "skipped_at_limit": 0, "stopped_by_budget": False,
                             "not_covered": 0, "message": coupon.code})
        result = coupon_issue_to_segment(campaign_id=campaign.pk,
                                         allow_partial=params.validated_data["allow_partial"])
        return Response({"issued": result.issued, "holdout": result.holdout,
                         "skipped_at_limit": result.skipped_at_limit, "stopped_by_budget": result.stopped_by_budget,
                         "not_covered": result.not_covered, "message": result.message})


class CouponRedemptionSerializer(serializers.ModelSerializer):
    """``reasons`` are codes (scripts read them); ``reason_labels`` the same in the request's language."""

    code = serializers.CharField(source="coupon.code")
    reason_labels = serializers.SerializerMethodField()

    class Meta:
        model = CouponRedemption
        fields = ["code", "customer_id", "order_id", "redeemed_at", "order_amount", "discount", "accepted",
                  "suspicious", "reasons", "reason_labels", "judge_from"]

    def get_reason_labels(self, redemption) -> list[str]:
        return [code_label("coupon_fraud_reason", reason) for reason in redemption.reasons]


class RedemptionFilterSerializer(serializers.Serializer):
    suspicious = serializers.BooleanField(required=False, allow_null=True, default=None)


class CouponRedemptionListApi(ListAPIView):
    """A campaign's redemptions (user ops, analysts, admins); ``?suspicious=true`` for the flagged ones. POST reads
    them again from the paid orders."""

    role_area = Area.CUSTOMER_RECORDS
    serializer_class = CouponRedemptionSerializer
    filter_backends: list = []

    @extend_schema(parameters=[RedemptionFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = RedemptionFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.coupon_redemption_list(campaign=_campaign_or_404(self.kwargs["campaign_id"]),
                                                suspicious=params.validated_data.get("suspicious"))

    @extend_schema(request=None, responses=inline_serializer("RedemptionsRead", {
        "redemptions": serializers.IntegerField()}))
    def post(self, request, campaign_id: int):
        campaign = _campaign_or_404(campaign_id)
        return Response({"redemptions": coupon_redemptions_refresh(campaign_id=campaign.pk)})


# Referral


class ReferralKFactorApi(APIView):
    """K-factor per month and referrer channel (every role); ``complete`` is false for the month in progress (its
    figure is so far)."""

    role_area = Area.CUSTOMERS

    @extend_schema(parameters=[RangeSerializer], responses=inline_serializer("KFactor", {
        "month": serializers.CharField(), "channel": serializers.CharField(), "signups": serializers.IntegerField(),
        "referred_signups": serializers.IntegerField(), "k_factor": serializers.FloatField(allow_null=True),
        "complete": serializers.BooleanField(help_text="The month has ended; false for the month in progress.")},
        many=True))
    def get(self, request):
        return Response(selectors.referral_k_factor(**_range(request)))


class ReferralReferrersApi(APIView):
    """Top referrers and fraud signals (user ops, analysts, admins)."""

    role_area = Area.CUSTOMER_RECORDS

    @extend_schema(responses=inline_serializer("Referrers", {
        "top": serializers.ListField(child=serializers.DictField()),
        "fraud_signals": serializers.ListField(child=serializers.DictField()),
        "unresolved": serializers.DictField()}))
    def get(self, request):
        return Response(selectors.referral_referrers())
