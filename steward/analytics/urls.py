from django.contrib.auth.decorators import login_required
from django.urls import path

from . import loyalty_views, service_views, views, views_economics

app_name = "analytics"
urlpatterns = [
    path("sectors/", login_required(views.sector_report), name="sectors"),
    path("process-map/", login_required(views.process_map), name="process_map"),
    path("export/<str:fmt>/", login_required(views.export_log), name="export"),
    path("economics/", login_required(views_economics.executive), name="economics"),
    path("economics/quality/", login_required(views_economics.cost_of_quality), name="cost_of_quality"),
    path("economics/quality/lines/", login_required(views_economics.cost_lines), name="cost_lines"),
    path("economics/complaints/", login_required(views_economics.complaint_cost), name="complaint_cost"),
    path("economics/loyalty/", login_required(views_economics.loyalty), name="loyalty_economics"),
    path("economics/sectors/", login_required(views_economics.scorecards), name="scorecards"),
    path("service/", login_required(service_views.service_dashboard), name="service"),
    path(
        "service/cases/<str:key>/<str:part>/",
        login_required(service_views.service_cases),
        name="service_cases",
    ),
    path("service/export/<str:table>/", login_required(service_views.service_export), name="service_export"),
    path("loyalty/", login_required(loyalty_views.loyalty_review), name="loyalty"),
    path("loyalty/export/", login_required(loyalty_views.loyalty_export), name="loyalty_export"),
]
