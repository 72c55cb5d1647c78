"""API tokens: ask for one with a username and password, list yours, revoke yours."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from ops_platform.accounts.models import ApiToken
from ops_platform.accounts.selectors import api_token_list
from ops_platform.accounts.services import api_token_create, api_token_revoke


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                 help_text="What the token is for, e.g. “nightly report script”.")


class ApiTokenOutputSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at", "current"]

    def get_current(self, token) -> bool:
        request = self.context.get("request")
        return request is not None and getattr(request, "auth", None) == token


class ObtainTokenApi(APIView):
    """``POST {"username", "password"}`` → ``{"token", "id", "expires_at"}``; then send ``Authorization: Token …``.

    Each call issues a new token (shown once), valid for ``API_TOKEN_TTL_DAYS``; it stops working when revoked or
    when the password changes. Failed attempts count toward the login lockout (per username and address).
    """

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AnonRateThrottle, ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=TokenRequestSerializer, responses=inline_serializer("TokenResponse", {
        "token": serializers.CharField(), "id": serializers.IntegerField(),
        "expires_at": serializers.DateTimeField()}))
    def post(self, request):
        params = TokenRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        # The Django request, so the lockout (django-axes) sees the address and marks the response.
        user = authenticate(request._request, username=params.validated_data["username"],
                            password=params.validated_data["password"])
        if user is None:
            raise serializers.ValidationError({"non_field_errors": ["Unable to log in with provided credentials."]})
        token, raw = api_token_create(user=user, name=params.validated_data.get("name", ""))
        return Response({"token": raw, "id": token.pk, "expires_at": timezone.localtime(token.expires_at).isoformat()},
                        status=status.HTTP_200_OK)


class ApiTokenListApi(APIView):
    """Your API tokens (never their secrets), newest first; ``current`` marks the one this request uses. Every
    role has its own tokens: a login is all it takes."""

    @extend_schema(responses=ApiTokenOutputSerializer(many=True))
    def get(self, request):
        return Response(ApiTokenOutputSerializer(api_token_list(user=request.user)[:200], many=True,
                                                 context={"request": request}).data)


class ApiTokenRevokeApi(APIView):
    """Revoke one of your tokens (from now on it is refused); someone else's is a 404."""

    @extend_schema(request=None, responses=ApiTokenOutputSerializer)
    def post(self, request, token_id: int):
        token = api_token_revoke(user=request.user, token_id=token_id)
        return Response(ApiTokenOutputSerializer(token, context={"request": request}).data)
