from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from steward.accounts.models import User
from steward.cases.serializers import CustomerSerializer, DetailSerializer, ErrorSerializer

from .models import Customer
from .selectors import customer_search, customers_visible_to, may_manage_customers
from .services import customer_create


@extend_schema_view(
    list=extend_schema(parameters=[OpenApiParameter("q", str, description="Search name, e-mail or phone.")]),
    retrieve=extend_schema(responses={200: CustomerSerializer, 404: DetailSerializer}),
)
class CustomerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Customer],
):
    serializer_class = CustomerSerializer
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Customer.objects.none()
        assert isinstance(self.request.user, User)
        qs = customers_visible_to(self.request.user)
        return customer_search(qs, self.request.query_params.get("q", "")[:200])

    @extend_schema(
        request=CustomerSerializer,
        responses={201: CustomerSerializer, 400: ErrorSerializer, 403: DetailSerializer},
    )
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        assert isinstance(request.user, User)
        if not may_manage_customers(request.user):
            raise PermissionDenied
        data = CustomerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_create(actor=request.user, **data.validated_data)
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)
