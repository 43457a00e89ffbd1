from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("preferences/", views.preferences, name="preferences"),
    path("language/", views.language, name="language"),
    path("absences/", views.absences, name="absences"),
    path("token/revoke/", views.token_revoke_own, name="token_revoke"),
    path("users/", views.users, name="users"),
    path("users/<int:pk>/token/revoke/", views.user_token_revoke, name="user_token_revoke"),
    path("users/<int:pk>/active/", views.user_active, name="user_active"),
]
