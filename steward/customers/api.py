"""REST API for customers. Staff list and add customers (to open cases for them); see selectors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from steward.accounts.models import User
from steward.core.serializers import DetailSerializer, ErrorSerializer

from .models import Customer
from .selectors import customer_search, customers_visible_to, may_manage_customers
from .serializers import CustomerFilterSerializer, CustomerSerializer
from .services import customer_create


def _user(request: Request) -> User:
    assert isinstance(request.user, User)  # IsAuthenticated ran first
    return request.user


@extend_schema_view(
    list=extend_schema(
        parameters=[CustomerFilterSerializer],
        responses={200: CustomerSerializer(many=True), 400: ErrorSerializer},
        description="Customers the caller may see: every customer for front-line staff, none for sector "
        "members.",
    ),
    retrieve=extend_schema(responses={200: CustomerSerializer, 404: DetailSerializer}),
)
class CustomerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Customer],
):
    serializer_class = CustomerSerializer
    lookup_value_regex = r"[0-9]+"
    filter_backends: list[Any] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Customer.objects.none()
        qs = customers_visible_to(_user(self.request))
        if self.action != "list":
            return qs
        params = CustomerFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return customer_search(
            qs, params.validated_data.get("q", ""), email=params.validated_data.get("email", "")
        )

    @extend_schema(
        request=CustomerSerializer,
        responses={201: CustomerSerializer, 400: ErrorSerializer, 403: DetailSerializer},
        description="Add a customer (front-line staff). One customer per e-mail address.",
    )
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        user = _user(request)
        if not may_manage_customers(user):
            raise PermissionDenied
        data = CustomerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_create(actor=user, **data.validated_data)
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)
