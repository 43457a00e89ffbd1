from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "steward.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from steward.cases.signals import case_event_recorded

        from .receivers import write_notifications

        case_event_recorded.connect(write_notifications, dispatch_uid="notifications.outbox")
