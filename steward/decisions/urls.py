from django.urls import path

from . import views

app_name = "decisions"
urlpatterns = [
    path("", views.decision_list, name="list"),
    path("new/", views.decision_new, name="new"),
    path("<int:pk>/", views.decision_detail, name="detail"),
    path("<int:pk>/edit/", views.decision_edit, name="edit"),
    path("<int:pk>/assess/", views.decision_assess, name="assess"),
    path("<int:pk>/approve/", views.decision_approve, name="approve"),
    path("<int:pk>/carry-out/", views.decision_carry_out, name="carry_out"),
    path("<int:pk>/in-effect/", views.decision_in_effect, name="in_effect"),
    path("<int:pk>/review/", views.decision_review, name="review"),
    path("<int:pk>/scenarios/", views.scenario_new, name="scenario_new"),
    path("<int:pk>/scenarios/<int:scenario_pk>/", views.scenario_edit, name="scenario"),
    path("<int:pk>/scenarios/<int:scenario_pk>/delete/", views.scenario_delete, name="scenario_delete"),
    path("<int:pk>/scenarios/<int:scenario_pk>/away/", views.away_add, name="away_add"),
    path(
        "<int:pk>/scenarios/<int:scenario_pk>/away/<int:period_pk>/delete/",
        views.away_remove,
        name="away_remove",
    ),
    path("<int:pk>/scenarios/<int:scenario_pk>/backup/", views.backup_set, name="backup"),
]
