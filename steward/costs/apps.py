from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CostsConfig(AppConfig):
    name = "steward.costs"
    label = "costs"
    verbose_name = _("Cost of quality")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save, pre_save

        from steward.cases.signals import case_event_recorded

        from .rollup import on_case_event, on_user_post_save, on_user_pre_save

        # CostDay follows every line the case services book, in their transaction (rollup.py), and
        # a person moved to another sector (their contacts are costed at their sector's rate).
        case_event_recorded.connect(on_case_event, dispatch_uid="costs.rollup")
        user = get_user_model()
        pre_save.connect(on_user_pre_save, sender=user, dispatch_uid="costs.rollup.user_pre")
        post_save.connect(on_user_post_save, sender=user, dispatch_uid="costs.rollup.user_post")
