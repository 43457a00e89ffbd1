from django.urls import path
from rest_framework.routers import SimpleRouter

from steward.accounts.api import ObtainTokenView
from steward.customers.api import CustomerViewSet

from .api import CaseViewSet

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("customers", CustomerViewSet, basename="customer")

urlpatterns = [path("auth/token/", ObtainTokenView.as_view(), name="token"), *router.urls]
