from django.urls import path

from . import views

app_name = "costs"
urlpatterns = [
    path("", views.ledger, name="ledger"),
    path("override/", views.override, name="override"),
    path("ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("rates/", views.rates, name="rates"),
    path("entries/", views.entries, name="entries"),
    path("entries/new/", views.entry_new, name="entry_new"),
    path("entries/<int:pk>/", views.entry_edit, name="entry_edit"),
    path("entries/<int:pk>/delete/", views.entry_delete, name="entry_delete"),
    path("compensation/", views.approvals, name="approvals"),
    path("compensation/<int:pk>/decide/", views.compensation_decide, name="decide"),
    path("cases/<int:case_pk>/compensation/", views.compensation_request, name="compensation_request"),
    path("meetings/", views.meetings, name="meetings"),
]
