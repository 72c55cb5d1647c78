"""Canonical-name mappings (analytics/services/naming.py): list, create, delete, preview. Administrators only."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.models import NameMapping
from analytics.services import naming
from ops_platform.core.roles import Area


class NameMappingOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None)

    class Meta:
        model = NameMapping
        fields = ["id", "kind", "source", "target", "scope", "created_at", "created_by"]


class NameMappingInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=NameMapping.Kind.choices, label=_("kind"))
    source = serializers.CharField(max_length=naming.MAX_NAME_LENGTH, label=_("name sent"))
    target = serializers.CharField(max_length=naming.MAX_NAME_LENGTH, label=_("canonical name"))
    scope = serializers.CharField(max_length=naming.MAX_NAME_LENGTH, required=False, allow_blank=True,
                                  label=_("on event"))

    def draft(self) -> naming.Draft:
        return naming.Draft.of(**self.validated_data)


class NameMappingPreviewInputSerializer(NameMappingInputSerializer):
    days = serializers.IntegerField(min_value=1, max_value=naming.PREVIEW_MAX_DAYS, required=False,
                                    default=naming.PREVIEW_DEFAULT_DAYS, label=_("days"))

    def draft(self) -> naming.Draft:
        data = {name: value for name, value in self.validated_data.items() if name != "days"}
        return naming.Draft.of(**data)


class NameMappingListApi(APIView):
    """The mappings in force (GET) with how many events of the last ``days`` (default 7) each would have changed;
    POST creates one (field errors for a chain, a duplicate, an unknown canonical event …)."""

    role_area = Area.EVENT_NAMES

    @extend_schema(responses=inline_serializer("NameMappingList", {
        "days": serializers.IntegerField(), "results": NameMappingOutputSerializer(many=True),
        "changed_last_days": serializers.DictField(child=serializers.IntegerField())}))
    def get(self, request):
        days = serializers.IntegerField(min_value=1, max_value=naming.PREVIEW_MAX_DAYS)
        raw_days = request.query_params.get("days", naming.PREVIEW_DEFAULT_DAYS)
        try:
            days = days.run_validation(raw_days)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"days": exc.detail}) from None
        mappings = list(NameMapping.objects.select_related("created_by").order_by("kind", "scope", "source"))
        counts = naming.name_mappings_counts(mappings, days=days)
        return Response({"days": days, "results": NameMappingOutputSerializer(mappings, many=True).data,
                         "changed_last_days": {str(pk): count for pk, count in counts.items()}})

    @extend_schema(request=NameMappingInputSerializer, responses={201: NameMappingOutputSerializer})
    def post(self, request):
        serializer = NameMappingInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = naming.name_mapping_create(draft=serializer.draft(), created_by=request.user)
        return Response(NameMappingOutputSerializer(mapping).data, status=status.HTTP_201_CREATED)


class NameMappingDetailApi(APIView):
    """Delete a mapping: events received from now on keep the name they are sent with."""

    role_area = Area.EVENT_NAMES

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, pk: int):
        naming.name_mapping_delete(mapping=get_object_or_404(NameMapping, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class NameMappingPreviewApi(APIView):
    """What a draft mapping would change on the events received in the last ``days``: counts and examples."""

    role_area = Area.EVENT_NAMES

    @extend_schema(request=NameMappingPreviewInputSerializer, responses=inline_serializer("NameMappingPreview", {
        "days": serializers.IntegerField(), "since": serializers.DateTimeField(),
        "events": serializers.IntegerField(), "changed": serializers.IntegerField(),
        "people": serializers.IntegerField(), "target_kept": serializers.IntegerField(),
        "examples": serializers.ListField(child=serializers.DictField())}))
    def post(self, request):
        serializer = NameMappingPreviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = naming.name_mapping_preview(draft=serializer.draft(), days=serializer.validated_data["days"])
        return Response(preview)
