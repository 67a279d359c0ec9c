from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = _("Events")

    def ready(self) -> None:
        from events import receivers  # noqa: F401  (GDPR erasure reaches the attendee lists not yet imported)
