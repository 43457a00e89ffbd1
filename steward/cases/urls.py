from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("<str:pk>/", views.case_detail, name="detail"),
    path("<str:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("<str:pk>/<slug:action>/", views.case_action, name="action"),
]
