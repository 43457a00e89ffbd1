from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from steward.core import api_docs

api_v1 = [
    path("", include("steward.cases.api_urls")),
    path("", include("steward.accounts.api_urls")),  # token revocation (issue 10)
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs.swagger_ui, name="api-docs"),
    path("api/redoc/", api_docs.redoc, name="api-redoc"),
    path("i18n/", include("django.conf.urls.i18n")),
]

if settings.STEWARD_BENCH:  # the benchmark's ceilings (scripts/bench.sh); off unless STEWARD_BENCH=1
    urlpatterns.append(path("bench/", include("steward.bench.urls")))

urlpatterns += i18n_patterns(
    path("", RedirectView.as_view(pattern_name="cases:list", permanent=False), name="home"),
    path("accounts/", include("steward.accounts.urls")),
    path("cases/", include("steward.cases.urls")),
    path("customers/", include("steward.customers.urls")),
    path("sectors/", include("steward.sectors.urls")),
    path("portal/", include("steward.portal.urls")),
    path("reviews/", include("steward.reviews.urls")),
    path("surveys/", include("steward.surveys.urls")),
    path("analytics/", include("steward.analytics.urls")),
    path("costs/", include("steward.costs.urls")),
    path("audit/", include("steward.audit.urls")),
    path("decisions/", include("steward.decisions.urls")),
    path("admin/", admin.site.urls),
)

handler404 = "steward.core.views.not_found"
handler500 = "steward.core.views.server_error"
