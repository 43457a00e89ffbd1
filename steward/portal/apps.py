from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "steward.portal"
    label = "portal"
    verbose_name = _("Customer portal")

    def ready(self) -> None:
        from steward.cases.signals import case_opening_rows

        from .services import opening_key_row

        # A new case's portal key, inside case_open's one statement on PostgreSQL (cases/opening.py).
        case_opening_rows.connect(opening_key_row, dispatch_uid="portal.opening_key")
