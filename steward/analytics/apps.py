from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "steward.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from steward.cases.signals import case_event_recorded, case_opening_rows
        from steward.customers.signals import personal_data_erasing
        from steward.surveys.signals import response_recorded

        from .rollups import on_case_event, opening_rows
        from .service_rollup import on_erasing
        from .survey_rollup import on_response

        # The analysis rollups follow every case event in its own transaction (rollups.py says why).
        case_event_recorded.connect(on_case_event, dispatch_uid="analytics.rollups")
        # An opened case's rows, inside case_open's one statement on PostgreSQL (cases/opening.py).
        case_opening_rows.connect(opening_rows, dispatch_uid="analytics.rollups.opening")
        # The dashboard's survey day counts follow every answer, in its transaction (survey_rollup.py).
        response_recorded.connect(on_response, dispatch_uid="analytics.survey_rollup")
        # An erased handoff summary is a handoff without one for the dashboard (its straight query).
        personal_data_erasing.connect(on_erasing, dispatch_uid="analytics.service_rollup.erasing")
