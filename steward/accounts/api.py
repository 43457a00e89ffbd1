"""API token endpoint. Sign-in failures count towards the same lockout (django-axes) as the sign-in page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from steward.core.serializers import ErrorSerializer

from .models import User
from .services import token_revoke


class TokenRequestSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"}, trim_whitespace=False)


class TokenSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(help_text='Send it as the header "Authorization: Token <token>".')


class ObtainTokenView(APIView):
    """Exchange a user name and password for an API token (lockout applies, as at sign-in)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: ErrorSerializer,
            429: OpenApiResponse(description="Too many failed attempts: locked out for a while."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Passing the request lets django-axes count failures and refuse locked-out users.
        user = authenticate(request._request, **data.validated_data)
        if user is None or not user.is_active:
            return Response(
                {"non_field_errors": [_("Wrong user name or password.")]}, status=status.HTTP_400_BAD_REQUEST
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class RevokeOwnTokenView(APIView):
    """Revoke the caller's own API token (it stops working at once; ask for a new one to continue)."""

    @extend_schema(request=None, responses={204: None, 401: ErrorSerializer})
    def delete(self, request: Request) -> Response:
        token_revoke(actor=request.user, user=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class RevokeUserTokenView(APIView):
    """Revoke another user's API token (managers and administrators; a 404 for everyone else)."""

    @extend_schema(request=None, responses={204: None, 401: ErrorSerializer, 404: ErrorSerializer})
    def delete(self, request: Request, pk: int) -> Response:
        actor = request.user
        if not getattr(actor, "manages_cases", False):
            raise Http404
        token_revoke(actor=actor, user=get_object_or_404(User, pk=pk))  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
