from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partner API")

    def ready(self) -> None:
        from partners import receivers  # noqa: F401  (connects webhook receivers to domain signals)
