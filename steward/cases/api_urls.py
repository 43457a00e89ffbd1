from django.urls import path
from rest_framework.routers import SimpleRouter

from steward.accounts.api import ObtainTokenView
from steward.customers.api import CustomerViewSet

from .api import CaseViewSet
from .task_api import SectorTaskViewSet

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("customers", CustomerViewSet, basename="customer")
router.register("tasks", SectorTaskViewSet, basename="task")

urlpatterns = [path("auth/token/", ObtainTokenView.as_view(), name="token"), *router.urls]
