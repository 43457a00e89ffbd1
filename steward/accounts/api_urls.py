from django.urls import path

from .api import RevokeOwnTokenView, RevokeUserTokenView

urlpatterns = [
    path("auth/token/current/", RevokeOwnTokenView.as_view(), name="token-current"),
    path("users/<int:pk>/token/", RevokeUserTokenView.as_view(), name="user-token"),
]
