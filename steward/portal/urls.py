from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.case_list, name="cases"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/sent/", views.sign_in_sent, name="sign_in_sent"),
    path("sign-in/link/<str:token>/", views.sign_in_link, name="sign_in_link"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("new/", views.case_new, name="case_new"),
    path("cases/<str:key>/", views.case_detail, name="case"),
    path("cases/<str:key>/message/", views.case_message, name="case_message"),
    path("cases/<str:key>/confirm/", views.case_confirm, name="case_confirm"),
    path("cases/<str:key>/not-solved/", views.case_not_solved, name="case_not_solved"),
    path("cases/<str:key>/files/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("solution/<str:token>/confirm/", views.solution_confirm, name="solution_confirm"),
    path("solution/<str:token>/not-solved/", views.solution_not_solved, name="solution_not_solved"),
]
