from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_new, name="new"),
    path("economics/", views.economics_inputs, name="economics_inputs"),
    path("economics/<str:month>/", views.economics_inputs, name="economics_inputs_month"),
    path("<str:pk>/value/", views.customer_value, name="value"),
    path("<str:pk>/personal-data/", views.personal_data, name="personal_data"),
    path("<str:pk>/personal-data/export/", views.personal_data_export_view, name="personal_data_export"),
    path("<str:pk>/personal-data/erase/", views.personal_data_erase_view, name="personal_data_erase"),
    path("<str:pk>/", views.customer_detail, name="detail"),
]
