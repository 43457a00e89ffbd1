from django.urls import path

from . import views

app_name = "reviews"
urlpatterns = [
    path("", views.review_list, name="list"),
    path("actions/", views.action_follow_up, name="actions"),
    path("<int:pk>/", views.review_detail, name="detail"),
    path("<int:pk>/findings/", views.finding_add, name="finding"),
    path("<int:pk>/actions/", views.action_add, name="action"),
    path("<int:pk>/actions/<int:action_pk>/done/", views.action_done, name="action_done"),
]
