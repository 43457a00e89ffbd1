from django.contrib.auth.decorators import login_required
from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("sectors/", login_required(views.sector_report), name="sectors"),
    path("process-map/", login_required(views.process_map), name="process_map"),
    path("export/<str:fmt>/", login_required(views.export_log), name="export"),
]
