from django.urls import path

from . import views

app_name = "sectors"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("tasks/<str:pk>/<slug:action>/", views.task_action, name="task-action"),
]
