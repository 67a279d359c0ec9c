"""Base classes for the resource APIs: writes go through the apps' service functions."""

from collections.abc import Callable
from typing import Any, ClassVar

from rest_framework import viewsets

# An id in a path is ASCII digits: Django's integer lookup would read "١" (Arabic-Indic) as 1.
ID_IN_PATH = "[0-9]+"


class ServiceModelViewSet(viewsets.ModelViewSet):
    """A ModelViewSet whose create/update/delete call services instead of serializer.save().

    Serializers only check shape, types and ranges; the services hold the rules and raise
    domain errors, which the exception handler turns into 409/400 answers.
    """

    create_service: ClassVar[Callable[..., Any]]
    update_service: ClassVar[Callable[..., Any]]
    delete_service: ClassVar[Callable[[Any], None]]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    lookup_value_regex = ID_IN_PATH

    def perform_create(self, serializer):
        serializer.instance = type(self).create_service(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = type(self).update_service(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        type(self).delete_service(instance)
