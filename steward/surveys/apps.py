from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "steward.surveys"
    label = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from steward.cases.signals import case_event_recorded

        from .receivers import schedule_case_survey

        case_event_recorded.connect(schedule_case_survey, dispatch_uid="surveys.case_survey")
