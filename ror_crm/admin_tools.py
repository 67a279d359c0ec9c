"""Admin plumbing shared by the apps: saves through services, readable errors, cheap inlines.

Every admin write goes through the app's service functions (STYLE.md: writes go through
services), so the admin gets the same rules, scoring triggers and webhooks as the API.
A service that refuses (DomainError, ValidationError) does not become a 500: the form is
shown again with the user's input and the error beside the field or row it is about.
"""

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ObjectDoesNotExist, ValidationError
from django.db import models, transaction
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.formats import date_format, get_format
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.forms import SelectableFieldsExportForm

from ror_crm.exceptions import DomainError

SERVICE_ERRORS = (DomainError, ValidationError)
# Rows computed from others (read-only in the admin).
COMPUTED_MODELS = (
    "scoring.ContactScore", "scoring.ScoreSnapshot", "scoring.EventMetrics", "scoring.PendingRecompute",
    "scoring.RecomputeRequest",
)


def error_messages(exc: Exception) -> list[str]:
    """The user-facing messages of a service error."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return [
                message if field == NON_FIELD_ERRORS else f"{field}: {message}"
                for field, field_messages in exc.message_dict.items()
                for message in field_messages
            ]
        return list(exc.messages)
    return [str(exc)]


def add_error_to_form(form, exc: Exception) -> None:
    """Put a service error on the form: on its fields where it names one, else on the form."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, field_messages in exc.message_dict.items():
            target = field if field in form.fields and field != NON_FIELD_ERRORS else None
            prefix = "" if target or field == NON_FIELD_ERRORS else f"{field}: "
            for message in field_messages:
                # add_error() drops the field from cleaned_data; tolerate a field already dropped.
                form.add_error(target, f"{prefix}{message}")
        return
    field = getattr(exc, "field", None)
    form.add_error(field if field in form.fields else None, error_messages(exc))


def model_field_values(obj: models.Model, names) -> dict[str, Any]:
    """Values of the named concrete model fields, as the form put them on `obj`."""
    concrete = {field.name for field in obj._meta.concrete_fields}
    return {name: getattr(obj, name) for name in names if name in concrete}


def copy_fields(source: models.Model, target: models.Model) -> None:
    """Make the admin's in-memory object match what the service saved."""
    for field in target._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False


def badge(value: str, label: str) -> str:
    """A small coloured label for a list cell (stage, churn risk, status): admin-ror/lists.css."""
    return format_html('<span class="ror-badge ror-badge-{}">{}</span>', value, label)


def short_date(moment) -> str:
    """A moment as the active language writes a short date (list cells); "—" for none."""
    return date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT") if moment else "—"


@admin.display(description=gettext_lazy("event"), ordering="event__starts_at")
def event_column(obj) -> str:
    """A row's event in a list's narrow column: its day first, so the editions of a series, which
    share a long name, stay apart where the cell cuts the text (list_select_related: no query)."""
    event = obj.event
    return f"{short_date(event.starts_at)} · {event.name}" if event is not None else "—"


def short_datetime(moment) -> str:
    """A moment as the active language writes a short date and time (list cells); "—" for none."""
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else "—"


def person_name(user) -> str:
    """A user as the pages name people: the full name, or the user name without one."""
    return user.get_full_name() or user.get_username()


def related_or_none(obj: models.Model, name: str):
    """A reverse one-to-one (e.g. contact.score) that may not exist; no query when select_related."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


class PrefetchedAutocompleteSelect(AutocompleteSelect):
    """An autocomplete that renders its selected option from an object already loaded.

    Django's AutocompleteSelect looks the selected object up again for every widget, which
    makes an inline of N rows run N queries; the inline formset below hands each row's
    widget the related object its select_related query already fetched.
    """

    known_objects: dict[str, models.Model] | None = None

    def optgroups(self, name, value, attr=None):
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        known = self.known_objects or {}
        if not selected or not selected <= known.keys():
            return super().optgroups(name, value, attr)
        options = []
        if not self.is_required and not self.allow_multiple_selected:
            options.append(self.create_option(name, "", "", False, 0))
        for key in sorted(selected):
            obj = known[key]
            options.append(
                self.create_option(name, obj.pk, self.choices.field.label_from_instance(obj), True, len(options))
            )
        return [(None, options, 0)]


class ServiceInlineFormSet(BaseInlineFormSet):
    """Inline formset: prefilled autocompletes, and service errors attached to their rows."""

    # Set per request by ServiceAdminMixin when a service refused a row: {form index: error}.
    service_errors: dict[int, Exception] = {}

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        instance = form.instance
        if self.instance.pk is not None and getattr(instance, self.fk.attname) == self.instance.pk:
            # Rows print themselves (str(row) mentions the parent): hand them the parent object.
            setattr(instance, self.fk.name, self.instance)
        if instance.pk is not None:
            for name, field in form.fields.items():
                widget = getattr(field.widget, "widget", field.widget)
                if isinstance(widget, PrefetchedAutocompleteSelect):
                    related = getattr(instance, name, None)  # loaded by the inline's select_related
                    widget.known_objects = {str(related.pk): related} if related is not None else {}
        return form

    def clean(self):
        super().clean()
        unplaced = []
        for index, exc in self.service_errors.items():
            form = self.forms[index] if index < len(self.forms) else None
            if form is None or (self.can_delete and self._should_delete_form(form)):
                unplaced.extend(error_messages(exc))
            else:
                add_error_to_form(form, exc)
        if unplaced:
            raise ValidationError(unplaced)


def without_grouping(value: Any) -> Any:
    """A number typed with the language's thousands separators ("12.500,50" in German, "12,500.50"
    in English) without them: Django reads them only where it also writes them
    (USE_THOUSAND_SEPARATOR), and refused "12.500,50". Only whole groups of three count, so a
    German "12.5" is not read as 125, nor an English "1234,56" as 123456, and a first group does not
    start with 0 (a German "0.350" stays 0.35, as Django reads it)."""
    if not isinstance(value, str):
        return value
    thousands, decimal = get_format("THOUSAND_SEPARATOR"), get_format("DECIMAL_SEPARATOR")
    grouped = rf"[+-]?[1-9]\d{{0,2}}(?:{re.escape(thousands)}\d{{3}})+(?:{re.escape(decimal)}\d*)?"
    text = value.strip()
    return text.replace(thousands, "") if thousands != decimal and re.fullmatch(grouped, text) else value


class GroupedNumberMixin:
    def to_python(self, value):
        return super().to_python(without_grouping(value) if self.localize else value)


class LocalizedDecimalField(GroupedNumberMixin, forms.DecimalField):
    """A decimal typed as the user's language writes it, thousands separators too."""


class LocalizedFloatField(GroupedNumberMixin, forms.FloatField):
    """A number typed as the user's language writes it, thousands separators too."""


# Numbers with decimals are typed as the user's language writes them ("1.234,56" in German) in a
# text input: a browser's number input of another locale dropped the comma, and 1234,56 was saved
# as 123456. In English a comma is no decimal separator: "1234,56" is an error, not a guess.
LOCALIZED_NUMBERS = {
    models.DecimalField: {"localize": True, "form_class": LocalizedDecimalField},
    models.FloatField: {"localize": True, "form_class": LocalizedFloatField},
}


# Unique constraints of several fields whose error belongs at one of them: a second attendance or
# answer of a contact at an event is about the contact chosen.
CONSTRAINT_FIELDS = {"attendance_event_contact_unique": "contact", "feedback_event_contact_unique": "contact"}


class ConstraintErrorsAtFieldsForm(ModelForm):
    """The admin's model form: the error of a constraint in CONSTRAINT_FIELDS is shown at its field,
    where Django puts the error of a constraint of several fields above the form."""

    def _update_errors(self, errors):
        if hasattr(errors, "error_dict") and NON_FIELD_ERRORS in errors.error_dict:
            at_field = {
                str(constraint.get_violation_error_message()): CONSTRAINT_FIELDS[constraint.name]
                for constraint in self._meta.model._meta.constraints if constraint.name in CONSTRAINT_FIELDS
            }
            for error in list(errors.error_dict[NON_FIELD_ERRORS]):
                field = at_field.get(error.messages[0])
                if field in self.fields:
                    errors.error_dict[NON_FIELD_ERRORS].remove(error)
                    errors.error_dict.setdefault(field, []).append(error)
            if not errors.error_dict[NON_FIELD_ERRORS]:
                del errors.error_dict[NON_FIELD_ERRORS]
        super()._update_errors(errors)


class ServiceInlineMixin:
    """An inline whose rows are written by service functions.

    Subclasses name them: create_service(**fields), update_service(obj, **fields),
    delete_service(obj). Foreign keys listed in autocomplete_fields render without a
    query per row as long as get_queryset() select_related()s them.
    """

    formset = ServiceInlineFormSet
    formfield_overrides = LOCALIZED_NUMBERS
    form = ConstraintErrorsAtFieldsForm
    create_service: Callable[..., models.Model]
    update_service: Callable[..., models.Model]
    delete_service: Callable[[models.Model], None]
    list_select_related: tuple[str, ...] = ()

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset.select_related(*self.list_select_related) if self.list_select_related else queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = PrefetchedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_formset(self, request, obj=None, **kwargs):
        formset_class = super().get_formset(request, obj, **kwargs)
        errors = getattr(request, "_service_inline_errors", {}).get(formset_class.get_default_prefix(), {})
        return type(formset_class.__name__, (formset_class,), {"service_inline": self, "service_errors": errors})

    def save_with_services(self, request, formset) -> None:
        """Write the formset's rows through the services; raise InlineRowError on refusal.

        Fills new_objects / changed_objects / deleted_objects as formset.save() would, for
        the admin's change message.
        """
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for index, form in enumerate(formset.forms):
            instance = form.instance
            try:
                if formset.can_delete and formset._should_delete_form(form):
                    if instance.pk is not None:
                        self.delete_service(type(instance)._default_manager.get(pk=instance.pk))
                        formset.deleted_objects.append(instance)
                    continue
                if instance.pk is None:
                    if not form.has_changed():
                        continue  # an untouched extra row
                    setattr(instance, formset.fk.name, formset.instance)
                    names = [*form.cleaned_data, formset.fk.name]
                    saved = self.create_service(**model_field_values(instance, names))
                    formset.new_objects.append(instance)
                elif form.has_changed():
                    original = type(instance)._default_manager.get(pk=instance.pk)
                    saved = self.update_service(original, **model_field_values(instance, form.changed_data))
                    formset.changed_objects.append((instance, form.changed_data))
                else:
                    continue
            except SERVICE_ERRORS as exc:
                raise InlineRowError(formset.prefix, index, exc) from exc
            copy_fields(saved, instance)


class InlineRowError(Exception):
    def __init__(self, prefix: str, index: int, error: Exception):
        super().__init__(str(error))
        self.prefix, self.index, self.error = prefix, index, error


class ServiceAdminMixin:
    """A ModelAdmin whose saves and deletes go through service functions.

    Subclasses set create_service(**fields), update_service(obj, **changed_fields) and
    delete_service(obj). Updates pass only the fields the user changed, read onto a fresh
    copy of the row, so a service sees the stored state as "before" (consent timestamps,
    status transitions, late-data notifications depend on it).
    """

    create_service: Callable[..., models.Model]
    update_service: Callable[..., models.Model]
    delete_service: Callable[[models.Model], None]
    formfield_overrides = LOCALIZED_NUMBERS
    form = ConstraintErrorsAtFieldsForm
    # The model's contact foreign keys: the services keep rows of erased contacts, so the
    # delete confirmation lists those as protected instead of deleting them.
    contact_fields: tuple[str, ...] = ()

    # Saving -------------------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if change:
            changed = model_field_values(obj, form.changed_data)
            changed.update(self.extra_service_fields(request, obj, form, change))
            if not changed:
                return
            original = type(obj)._default_manager.get(pk=obj.pk)
            saved = self.update_service(original, **changed)
        else:
            fields = model_field_values(obj, form.cleaned_data)
            fields.update(self.extra_service_fields(request, obj, form, change))
            saved = self.create_service(**fields)
        copy_fields(saved, obj)

    def extra_service_fields(self, request, obj, form, change) -> dict[str, Any]:
        """Values set outside the form's fields (hook)."""
        return {}

    def save_formset(self, request, form, formset, change):
        inline = getattr(formset, "service_inline", None)
        if inline is None:
            return super().save_formset(request, form, formset, change)
        return inline.save_with_services(request, formset)

    def delete_model(self, request, obj):
        self.delete_service(obj)

    def get_deleted_objects(self, objs, request):
        deletable, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Computed rows are nobody's to delete by hand, but go with what they were computed from.
        perms_needed -= {apps.get_model(label)._meta.verbose_name for label in COMPUTED_MODELS}
        if self.contact_fields:
            objs = list(objs)
            contact_ids = {getattr(obj, f"{name}_id") for obj in objs for name in self.contact_fields} - {None}
            erased = set(
                apps.get_model("contacts", "Contact").objects.filter(pk__in=contact_ids, erased_at__isnull=False)
                .values_list("pk", flat=True)
            )  # one query, whatever the number of rows
            protected += [
                _("%(object)s (a row of an erased contact)") % {"object": obj}
                for obj in objs if any(getattr(obj, f"{name}_id") in erased for name in self.contact_fields)
            ]
        return deletable, model_count, perms_needed, protected

    def delete_queryset(self, request, queryset):
        # One service call per row, so each delete notifies scoring like a single delete does;
        # a row the service refuses stays, and the user is told why.
        for obj in queryset:
            try:
                with transaction.atomic():
                    self.delete_service(obj)
            except SERVICE_ERRORS as exc:
                self.report_service_error(request, obj, exc)

    # Refusals become form errors ------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            # Django runs the view in a transaction: a refusal rolls back everything it wrote.
            return super().changeform_view(request, object_id, form_url, extra_context)
        except InlineRowError as exc:
            request._service_inline_errors = {exc.prefix: {exc.index: exc.error}}
        except SERVICE_ERRORS as exc:
            request._service_error = exc
        # Second pass: same POST, the error now makes the form invalid, so it is shown
        # again with everything the user typed.
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        error = getattr(request, "_service_error", None)
        if error is None:
            return form_class

        class FormWithServiceError(form_class):
            def clean(self):
                cleaned_data = super().clean()
                add_error_to_form(self, error)
                return cleaned_data

        FormWithServiceError.__name__ = form_class.__name__
        return FormWithServiceError

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except SERVICE_ERRORS as exc:
            for message in error_messages(exc):
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # Actions ------------------------------------------------------------------------

    def report_service_error(self, request, obj, exc: Exception) -> None:
        for message in error_messages(exc):
            self.message_user(request, _("%(object)s: %(message)s") % {"object": obj, "message": message}, messages.ERROR)


class ReadOnlyAdminMixin:
    """Computed data (scores, snapshots, metrics): visible, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LabelledExportForm(SelectableFieldsExportForm):
    """The export page's columns named as the admin names the fields, in its language, with the file's
    column name beside ("Vorname (first_name)"): the library titled the attribute's name in English."""

    def _get_field_label(self, resource, field_name: str) -> str:
        column = resource.fields[field_name]
        model, labels = resource._meta.model, []
        # The last field of the path ("contact__email": E-mail), but a related row's name by its relation
        # ("contact__organization__name": Organization); a reverse relation has no name of its own.
        for name in (column.attribute or field_name).split("__"):
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                break
            labels.append((name, getattr(field, "verbose_name", None)))
            model = field.related_model
        if len(labels) > 1 and labels[-1][0] in ("name", "username"):
            labels.pop()
        label = labels[-1][1] if labels else None
        return f"{capfirst(label or field_name.replace('_', ' '))} ({column.column_name})"


class SpreadsheetExportMixin(ExportMixin):
    """The admin's exports: CSV and XLSX; the CSV in UTF-8 with a byte order mark, without which
    Excel reads it in the machine's code page (umlauts garbled)."""

    export_formats = [CSV, XLSX]
    export_form_class = LabelledExportForm
    to_encoding = "utf-8-sig"
