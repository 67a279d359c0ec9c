"""Base classes for the resource APIs: writes go through the apps' service functions."""

from collections.abc import Callable
from typing import Any, ClassVar

from rest_framework import viewsets

_NOT_A_FIELD = object()


class ServiceModelViewSet(viewsets.ModelViewSet):
    """A ModelViewSet whose create/update/delete call services instead of serializer.save().

    Serializers only check shape, types and ranges; the services hold the rules and raise
    domain errors, which the exception handler turns into 409/400 answers.
    """

    create_service: ClassVar[Callable[..., Any]]
    update_service: ClassVar[Callable[..., Any]]
    delete_service: ClassVar[Callable[[Any], None]]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = type(self).create_service(**serializer.validated_data)

    def perform_update(self, serializer):
        instance, fields = serializer.instance, serializer.validated_data
        # A write that changes nothing (`PATCH {}`, or the stored values sent back) is no change:
        # the row keeps its updated_at and history, and an incremental sync does not read it again.
        # Any other value (an option such as `force`, or a value stored differently) goes to the service.
        if all(getattr(instance, name, _NOT_A_FIELD) == value for name, value in fields.items()):
            return
        serializer.instance = type(self).update_service(instance, **fields)

    def perform_destroy(self, instance):
        type(self).delete_service(instance)
