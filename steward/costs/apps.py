from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CostsConfig(AppConfig):
    name = "steward.costs"
    label = "costs"
    verbose_name = _("Cost of quality")

    def ready(self) -> None:
        from steward.cases.signals import case_event_recorded

        from .rollup import on_case_event

        # CostDay follows every line the case services book, in their transaction (rollup.py).
        case_event_recorded.connect(on_case_event, dispatch_uid="costs.rollup")
