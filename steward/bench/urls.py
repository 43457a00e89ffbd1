from django.urls import path

from . import views

app_name = "bench"
urlpatterns = [
    path("json/", views.ceiling_json, name="json"),
    path("insert/", views.ceiling_insert, name="insert"),
]
