from django.urls import path

from . import views

app_name = "surveys"
urlpatterns = [
    path("s/<str:token>/", views.answer, name="answer"),
    path("portal/<int:survey_id>/", views.portal_answer, name="portal_answer"),
    path("thanks/", views.thanks, name="thanks"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:pk>/done/", views.follow_up_done, name="follow_up_done"),
    path("questions/", views.questions, name="questions"),
    path("questions/scales/", views.scales, name="scales"),
    path("nps/", views.nps_list, name="nps_list"),
    path("nps/new/", views.nps_new, name="nps_new"),
    path("nps/<int:pk>/", views.nps_detail, name="nps_detail"),
]
