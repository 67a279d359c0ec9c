"""Admin for contacts, organizations, follow-ups and referrals (agency staff and sales).

Writes go through contacts.services / events.services (ror_crm.admin_tools). The contact
change page adds the relationship panel (score breakdown, history, timeline) and the GDPR
tools: JSON export and erasure with a confirmation page.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from contacts import services
from contacts.admin_panels import contact_panels, timeline_cursor
from contacts.choices import DealStatus, FollowUpStatus
from contacts.exceptions import ContactFatigue
from contacts.forms import PLANNED_IN_THE_PAST, AssignOwnerForm, ChangeTagsForm, PlanFollowUpsForm, TagsField
from contacts.models import TAGS_MAX, Contact, FollowUp, Organization, Referral
from contacts.resources import ContactResource
from contacts.worklist import due_soon_until
from events.choices import AttendanceStatus
from events.models import Attendance, EventSeries
from ror_crm import queue
from ror_crm.admin_tools import (
    SERVICE_ERRORS,
    ServiceAdminMixin,
    SpreadsheetExportMixin,
    badge,
    event_column,
    person_name,
    related_or_none,
    short_date,
    short_datetime,
)
from ror_crm.days import start_of_day
from ror_crm.validators import parse_id
from scoring.choices import ChurnRisk, LifecycleStage, NextAction, ScoreTrigger
from scoring.formatting import localized


@admin.display(description=gettext_lazy("owner"), ordering="owner__first_name")
def owner_name(obj) -> str:
    """A contact's or follow-up's owner as the worklist names them (list_select_related: no query)."""
    return person_name(obj.owner) if obj.owner else "—"


# Filters ------------------------------------------------------------------------------------


class StageFilter(admin.SimpleListFilter):
    title = gettext_lazy("lifecycle stage")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [*LifecycleStage.choices, ("none", _("Not scored yet"))]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(score__isnull=True)
        if self.value() in LifecycleStage.values:
            return queryset.filter(score__stage=self.value())
        return queryset


class ChurnRiskFilter(admin.SimpleListFilter):
    title = gettext_lazy("churn risk")
    parameter_name = "churn_risk"

    def lookups(self, request, model_admin):
        return ChurnRisk.choices

    def queryset(self, request, queryset):
        if self.value() in ChurnRisk.values:
            return queryset.filter(score__churn_risk=self.value())
        return queryset


class LosingTouchFilter(admin.SimpleListFilter):
    """Past their keep-in-touch cadence now (scoring.services.next_action)."""

    title = pgettext_lazy("filter title", "keep in touch")
    parameter_name = "losing_touch"

    def lookups(self, request, model_admin):
        return [("yes", _("Losing touch")), ("no", _("In touch"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(score__next_touch_due__lt=timezone.now())
        if self.value() == "no":
            return queryset.exclude(score__next_touch_due__lt=timezone.now())
        return queryset


class NextActionFilter(admin.SimpleListFilter):
    title = pgettext_lazy("filter title", "next best action")
    parameter_name = "next_action"

    def lookups(self, request, model_admin):
        return NextAction.choices

    def queryset(self, request, queryset):
        if self.value() in NextAction.values:
            return queryset.filter(score__next_action=self.value())
        return queryset


class AttendedSeriesFilter(admin.SimpleListFilter):
    """Contacts who attended at least one edition of a series."""

    title = gettext_lazy("attended series")
    parameter_name = "series"

    def lookups(self, request, model_admin):
        # Choice values as strings, as a query string gives them: "Show counts" (?_facets=True)
        # passes each choice value to queryset(), which reads it like a request parameter.
        return [(str(pk), name) for pk, name in EventSeries.objects.order_by("name").values_list("pk", "name")]

    def queryset(self, request, queryset):
        series_id = parse_id(self.value())
        if series_id is None:
            return queryset
        attended = Attendance.objects.filter(
            contact=OuterRef("pk"), event__series_id=series_id, status=AttendanceStatus.ATTENDED
        )
        return queryset.filter(Exists(attended))


class OwnerFilter(admin.SimpleListFilter):
    """Mine / unassigned / a given owner: the sales view of "my contacts"."""

    title = gettext_lazy("owner")
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        owner_ids = model_admin.model._default_manager.exclude(owner=None).values("owner")
        users = get_user_model()._default_manager.filter(pk__in=owner_ids).order_by("first_name", "last_name", "username")
        return [("me", _("Mine")), ("none", _("Unassigned")), *((str(user.pk), person_name(user)) for user in users)]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(owner=request.user)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        if (owner_id := parse_id(value)) is not None:
            return queryset.filter(owner_id=owner_id)
        return queryset


class ErasedFilter(admin.SimpleListFilter):
    title = gettext_lazy("GDPR erasure")
    parameter_name = "erased"

    def lookups(self, request, model_admin):
        return [("no", _("Active")), ("yes", _("Erased"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(erased_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(erased_at__isnull=False)
        return queryset


class DueFilter(admin.SimpleListFilter):
    """The sales worklist's question: what is due, what is late."""

    title = pgettext_lazy("filter title", "due")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("Overdue")),
            ("today", _("Due today")),
            ("week", _("Due in the next 7 days")),
            ("open", _("All open")),
            ("no_date", _("Open, no due date")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        today = timezone.localdate(now)
        planned = queryset.filter(status=FollowUpStatus.PLANNED)
        value = self.value()
        if value == "overdue":
            return queryset.overdue(now)
        if value == "today":
            return planned.filter(due_at__gte=start_of_day(today), due_at__lt=start_of_day(today + timedelta(days=1)))
        if value == "week":  # the worklist's "due soon"
            return planned.filter(due_at__gte=now, due_at__lt=due_soon_until(now))
        if value == "open":
            return planned
        if value == "no_date":
            return planned.filter(due_at__isnull=True)
        return queryset


# Forms --------------------------------------------------------------------------------------


class ContactAdminForm(forms.ModelForm):
    tags = TagsField(label=capfirst(gettext_lazy("tags")), required=False, help_text=gettext_lazy("Comma-separated."))

    class Meta:
        model = Contact
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def _post_clean(self):
        # Contact.clean() runs even when the e-mail field failed its own validation ("foo@"):
        # the instance then has no e-mail and the model adds "An e-mail address is required."
        # beside "Enter a valid email address.". Keep only the field's own message.
        own_errors = len(self.errors.get("email", ()))
        super()._post_clean()
        if own_errors:
            del self.errors["email"][own_errors:]


class FollowUpAdminForm(forms.ModelForm):
    # Shown after a contact-fatigue warning (FollowUpAdmin.get_fieldsets); not a model field.
    plan_anyway = forms.BooleanField(
        label=gettext_lazy("Plan anyway"), required=False,
        help_text=gettext_lazy("Plan this follow-up although the contact reached the contact-fatigue cap."),
    )

    class Meta:
        model = FollowUp
        fields = "__all__"  # noqa: DJ007 - the admin's fields/fieldsets choose what is shown

    def clean(self):
        # The service's rule (done ⇔ completed_at; a done follow-up without a time was done
        # now), applied here too because the model check runs before the service is called.
        cleaned_data = super().clean()
        status = cleaned_data.get("status")
        if not status:
            return cleaned_data
        contact = cleaned_data.get("contact")
        if status == FollowUpStatus.PLANNED and contact is not None and contact.do_not_contact and (
                "status" in self.changed_data or "contact" in self.changed_data or not self.instance.pk):
            self.add_error("contact", services.DO_NOT_CONTACT_PLANNING)
        due_at = cleaned_data.get("due_at")
        if status == FollowUpStatus.PLANNED and due_at is not None and due_at < start_of_day(timezone.localdate()) and (
                "status" in self.changed_data or "due_at" in self.changed_data or not self.instance.pk):
            self.add_error("due_at", PLANNED_IN_THE_PAST)  # as the bulk action and the worklist (a past day)
        if "completed_at" not in self.fields:  # the contact page's inline: the service sets it
            if status == FollowUpStatus.DONE and self.instance.completed_at is None:
                self.instance.completed_at = timezone.now()
            elif status != FollowUpStatus.DONE:
                self.instance.completed_at = None
        elif status == FollowUpStatus.DONE and not cleaned_data.get("completed_at") \
                and "completed_at" not in self.errors:
            if self.instance.status == FollowUpStatus.DONE and self.instance.completed_at is not None:  # as stored
                self.add_error("completed_at", services.DONE_KEEPS_ITS_TIME)
            else:
                cleaned_data["completed_at"] = timezone.now()
        elif status != FollowUpStatus.DONE and "completed_at" not in self.changed_data:
            cleaned_data["completed_at"] = None
        return cleaned_data


# History: an audit trail, not an undo button -------------------------------------------------


class AuditHistoryMixin:
    """History is read-only: reverting would restore withdrawn consent or erased data."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


# Admins ---------------------------------------------------------------------------------------


@admin.register(Organization)
class OrganizationAdmin(ServiceAdminMixin, admin.ModelAdmin):
    create_service = staticmethod(services.create_organization)
    update_service = staticmethod(services.update_organization)
    delete_service = staticmethod(services.delete_organization)
    list_display = ("name", "domain", "industry", "country", "contact_count")
    list_filter = ("industry", "country")
    search_fields = ("name", "domain")
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(contact_count=Count("contacts"))

    @admin.display(description=gettext_lazy("contacts"), ordering="contact_count")
    def contact_count(self, organization):
        return organization.contact_count


BULK_SAMPLE = 10  # contacts named on a bulk action's page


def bulk_skip_messages(skipped: dict[str, int]) -> list[str]:
    """Why contacts of a selection were left out, one sentence per reason."""
    sentences = {
        "erased": lambda n: ngettext(
            "%(count)d erased contact was left out.", "%(count)d erased contacts were left out.", n),
        "do_not_contact": lambda n: ngettext(
            "%(count)d contact marked do-not-contact was left out.",
            "%(count)d contacts marked do-not-contact were left out.", n),
        "already_planned": lambda n: ngettext(
            "%(count)d contact already had a planned follow-up.",
            "%(count)d contacts already had a planned follow-up.", n),
        "fatigued": lambda n: ngettext(
            "%(count)d contact at the contact-fatigue cap was left out.",
            "%(count)d contacts at the contact-fatigue cap were left out.", n),
        "too_many_tags": lambda n: ngettext(
            "%(count)d contact would have more than %(max)d tags and was left out.",
            "%(count)d contacts would have more than %(max)d tags and were left out.", n),
    }
    return [sentences[reason](count) % {"count": count, "max": TAGS_MAX} for reason, count in skipped.items()]


@admin.register(Contact)
class ContactAdmin(ServiceAdminMixin, AuditHistoryMixin, SpreadsheetExportMixin, SimpleHistoryAdmin):
    form = ContactAdminForm
    create_service = staticmethod(services.create_contact)
    update_service = staticmethod(services.update_contact)
    delete_service = staticmethod(services.delete_contact)
    resource_classes = [ContactResource]

    list_display = (
        "display_name", "email", "organization", owner_name, "score_value", "stage", "churn_risk", "last_touch",
        "next_action",
    )
    list_select_related = ("organization", "owner", "score")
    list_filter = (
        NextActionFilter, LosingTouchFilter, StageFilter, ChurnRiskFilter, AttendedSeriesFilter, OwnerFilter,
        "do_not_contact", "marketing_consent", ErasedFilter,
    )
    search_fields = ("email", "first_name", "last_name", "organization__name", "job_title")
    search_help_text = gettext_lazy("Search by e-mail, name, organization, job title or tag.")
    autocomplete_fields = ("organization", "owner")
    readonly_fields = ("marketing_consent_at", "erased_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", ("first_name", "last_name"), "organization", "job_title", "phone")}),
        (gettext_lazy("Relationship"), {"fields": ("owner", "tags", "cadence_days")}),
        (gettext_lazy("Consent and data protection"), {"fields": (
            "marketing_consent", "marketing_consent_at", "marketing_consent_source", "do_not_contact", "erased_at",
        )}),
        (gettext_lazy("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    # Related rows are read on the page (timeline, counts) and edited in their own lists, one click
    # away: dozens of editable inline rows made the page long and slow.
    actions = ["assign_owner", "plan_follow_ups", "change_tags", "recompute_scores"]
    list_per_page = 50

    class Media:
        css = {"all": ["admin-ror/admin.css", "admin-ror/lists.css"]}  # lists.css: the badges

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "owner", "score")

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and not request.path.endswith("/autocomplete/"):
            results = results | queryset.tagged(term)  # a tag, in any case (as the API's `?tag=`)
        if term and request.path.endswith("/autocomplete/"):
            # A picker is searched for a person: names starting with what was typed first, then
            # e-mails starting with it, then any other match (an organization, a job title).
            results = results.annotate(match_rank=Case(
                When(Q(first_name__istartswith=term) | Q(last_name__istartswith=term), then=Value(0)),
                When(email__istartswith=term, then=Value(1)),
                default=Value(2), output_field=IntegerField(),
            )).order_by("match_rank", "last_name", "first_name", "pk")
        return results, may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_erased:
            return [field.name for field in Contact._meta.concrete_fields if field.editable] + list(self.readonly_fields)
        return self.readonly_fields

    # Changelist columns (score joined by list_select_related: no query per row).

    @admin.display(description=gettext_lazy("name"), ordering="last_name")
    def display_name(self, contact):
        return contact.display_name

    @admin.display(description=gettext_lazy("score"), ordering="score__score")
    def score_value(self, contact):
        score = related_or_none(contact, "score")
        return localized(score.score, 1) if score else "—"

    @admin.display(description=gettext_lazy("stage"), ordering="score__stage")
    def stage(self, contact):
        score = related_or_none(contact, "score")
        return badge(score.stage, score.get_stage_display()) if score else "—"

    @admin.display(description=pgettext_lazy("list column", "next best action"), ordering="score__next_action")
    def next_action(self, contact):
        score = related_or_none(contact, "score")
        return badge(score.next_action, score.get_next_action_display()) if score and score.next_action else "—"

    @admin.display(description=pgettext_lazy("list column", "churn risk"), ordering="score__churn_risk")
    def churn_risk(self, contact):
        score = related_or_none(contact, "score")
        return badge(score.churn_risk, score.get_churn_risk_display()) if score else "—"

    @admin.display(description=pgettext_lazy("list column", "last touch"), ordering="score__last_touch_at")
    def last_touch(self, contact):
        score = related_or_none(contact, "score")
        return short_date(score.last_touch_at if score else None)

    # Change page: relationship panel and GDPR tools.

    def has_delete_permission(self, request, obj=None):
        # An erased contact keeps its id and its rows for the aggregates (DOMAIN.md).
        return not (isinstance(obj, Contact) and obj.is_erased) and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        contact = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if contact is not None:
            extra_context.update(contact_panels(contact, timeline_before=timeline_cursor(
                request.GET.get("timeline_before"), request.GET.get("timeline_item"))))
            extra_context["can_erase"] = not contact.is_erased and self.has_delete_permission(request, contact)
            extra_context["gdpr_export_url"] = reverse("admin:contacts_contact_gdpr_export", args=[contact.pk])
            extra_context["erase_url"] = reverse("admin:contacts_contact_erase", args=[contact.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/gdpr-export/", self.admin_site.admin_view(self.gdpr_export_view),
                 name="{}_{}_gdpr_export".format(*info)),
            path("<path:object_id>/erase/", self.admin_site.admin_view(self.erase_view),
                 name="{}_{}_erase".format(*info)),
            *super().get_urls(),
        ]

    def _get_contact_or_404(self, request, object_id) -> Contact:
        contact = self.get_object(request, unquote(object_id))
        if contact is None:
            raise Http404(_("No contact with id %(id)s.") % {"id": object_id})
        return contact

    def gdpr_export_view(self, request, object_id):
        """Everything held about the contact, as a JSON download (GDPR right of access)."""
        contact = self._get_contact_or_404(request, object_id)
        if not self.has_view_permission(request, contact):
            raise PermissionDenied
        data = services.export_contact(contact)
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        filename = f"contact-{contact.pk}-{timezone.localdate():%Y%m%d}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def erase_view(self, request, object_id):
        """GDPR erasure after a confirmation page; only for users who may delete contacts."""
        contact = self._get_contact_or_404(request, object_id)
        change_url = reverse("admin:contacts_contact_change", args=[contact.pk])
        if contact.is_erased:
            self.message_user(request, _("This contact was already erased."), messages.INFO)
            return HttpResponseRedirect(change_url)
        if not self.has_delete_permission(request, contact):
            raise PermissionDenied
        if request.method == "POST":
            contact = services.erase_contact(contact)
            self.log_change(request, contact, [{"changed": {"fields": ["erased_at"]}}])
            self.message_user(
                request, _("The contact's personal data was erased; its event history stays anonymous."), messages.SUCCESS
            )
            return HttpResponseRedirect(change_url)
        attendances, follow_ups, answers = contact.attendances.count(), contact.followups.count(), contact.feedback.count()
        interactions = contact.interactions.count() + contact.counterpart_interactions.count()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase personal data?"),
            "opts": self.opts,
            "object": contact,
            "change_url": change_url,
            "related_rows": [
                ngettext("%(count)d event attendance", "%(count)d event attendances", attendances) % {"count": attendances},
                ngettext("%(count)d follow-up", "%(count)d follow-ups", follow_ups) % {"count": follow_ups},
                ngettext("%(count)d feedback answer", "%(count)d feedback answers", answers) % {"count": answers},
                ngettext("%(count)d interaction", "%(count)d interactions", interactions) % {"count": interactions},
            ],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/contacts/contact/erase_confirmation.html", context)

    # Actions. The bulk ones ask for their values on a page of their own (like Django's delete
    # confirmation), which posts the same selection back with "apply".

    @admin.action(description=gettext_lazy("Assign an owner to selected contacts"), permissions=["change"])
    def assign_owner(self, request, queryset):
        removed = bool(request.POST.get("remove"))
        return self._bulk_action(
            request, queryset, AssignOwnerForm, title=_("Assign an owner"), submit_label=_("Assign owner"),
            apply=lambda form: services.assign_owner(queryset, form.cleaned_data["owner"], by=request.user),
            done=lambda count: ngettext(
                "Owner removed from %(count)d contact.", "Owner removed from %(count)d contacts.", count,
            ) if removed else ngettext("Owner set for %(count)d contact.", "Owner set for %(count)d contacts.", count),
        )

    @admin.action(description=gettext_lazy("Plan a follow-up with selected contacts"), permissions=["plan_follow_up"])
    def plan_follow_ups(self, request, queryset):
        return self._bulk_action(
            request, queryset, PlanFollowUpsForm, title=_("Plan a follow-up"), submit_label=_("Plan follow-ups"),
            apply=lambda form: services.plan_follow_ups(
                queryset, owner=form.cleaned_data["owner"], default_owner=request.user, due_at=form.due_at(),
                channel=form.cleaned_data["channel"], summary=form.cleaned_data["summary"],
                event=form.cleaned_data["event"], skip_planned=form.cleaned_data["skip_planned"],
                override=form.cleaned_data["override_fatigue"], by=request.user,
            ),
            done=lambda count: ngettext("Planned %(count)d follow-up.", "Planned %(count)d follow-ups.", count),
        )

    @admin.action(description=gettext_lazy("Add or remove tags of selected contacts"), permissions=["change"])
    def change_tags(self, request, queryset):
        return self._bulk_action(
            request, queryset, ChangeTagsForm, title=_("Add or remove tags"), submit_label=_("Change tags"),
            apply=lambda form: services.change_tags(
                queryset, add=form.cleaned_data["add"], remove=form.cleaned_data["remove"], by=request.user),
            done=lambda count: ngettext("Tags changed on %(count)d contact.", "Tags changed on %(count)d contacts.", count),
        )

    def has_plan_follow_up_permission(self, request) -> bool:
        return request.user.has_perm("contacts.add_followup")

    def _bulk_action(self, request, queryset, form_class, *, title, submit_label, apply, done):
        """The values page of a bulk action, then the change through its service and a message."""
        form = form_class(request.POST if request.POST.get("apply") == "yes" else None)
        if form.is_bound and form.is_valid():
            try:
                result = apply(form)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                level = messages.SUCCESS if result.changed else messages.WARNING
                self.message_user(request, " ".join(
                    [done(result.changed) % {"count": result.changed}, *bulk_skip_messages(result.skipped)]), level)
                return None
        # The selection travels as the changelist posted it ("select all" included).
        hidden_fields = [(name, value) for name in ("action", "select_across", "index", ACTION_CHECKBOX_NAME)
                         for value in request.POST.getlist(name)]
        selected_count = queryset.count()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "form": form,
            "media": self.media + form.media,
            "selected_count": selected_count,
            "erased_count": queryset.filter(erased_at__isnull=False).count(),
            "sample": [str(contact) for contact in queryset.not_erased().order_by("last_name", "pk")[:BULK_SAMPLE]],
            "hidden_fields": hidden_fields,
            "form_action": request.get_full_path(),
            "cancel_url": request.get_full_path(),
            "submit_label": submit_label,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/contacts/contact/bulk_action.html", context)

    @admin.action(description=gettext_lazy("Recompute scores of selected contacts"), permissions=["change"])
    def recompute_scores(self, request, queryset):
        from scoring.triggers import schedule_contacts_recompute  # scoring depends on contacts, not the reverse

        contact_ids = list(queryset.values_list("pk", flat=True))
        # Through Celery: a large selection is chunked by a worker, not computed inside the request.
        with queue.watch() as sends:
            schedule_contacts_recompute(contact_ids, trigger=ScoreTrigger.MANUAL)
        if sends.deferred:
            return  # Redis down: QueueDownAdminMessageMiddleware says it was saved and runs later
        self.message_user(request, ngettext(
            "Queued the score recompute of %(count)d contact.", "Queued the score recompute of %(count)d contacts.",
            len(contact_ids),
        ) % {"count": len(contact_ids)}, messages.SUCCESS)


@admin.register(FollowUp)
class FollowUpAdmin(ServiceAdminMixin, AuditHistoryMixin, SimpleHistoryAdmin):
    form = FollowUpAdminForm
    create_service = staticmethod(services.create_follow_up)
    update_service = staticmethod(services.update_follow_up)
    delete_service = staticmethod(services.delete_follow_up)
    contact_fields = ("contact",)

    list_display = ("contact_name", event_column, owner_name, "channel", "status_badge", "due", "outcome", "deal")
    list_select_related = ("contact", "event", "owner")
    # The planned ones first, the most overdue on top; then the rest, the latest first.
    ordering = (Case(When(status=FollowUpStatus.PLANNED, then=F("due_at"))).asc(nulls_last=True),
                F("due_at").desc(nulls_last=True), "-pk")
    list_filter = (DueFilter, "status", OwnerFilter, "channel", "outcome", "deal_status", "event__series")
    date_hierarchy = "due_at"
    search_fields = ("contact__email", "contact__first_name", "contact__last_name", "summary", "next_step")
    autocomplete_fields = ("contact", "event", "owner")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("contact", "event", "owner", "channel", "status", "due_at", "completed_at")}),
        (gettext_lazy("Conversation"), {"fields": ("outcome", "summary", "next_step")}),
        (gettext_lazy("Deal"), {"fields": ("deal_status", "deal_value")}),
        (gettext_lazy("Record"), {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    actions = ["mark_done"]
    list_per_page = 50

    def get_changeform_initial_data(self, request):
        # A follow-up logged by a salesperson is theirs unless they say otherwise.
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    def get_fieldsets(self, request, obj=None):
        # "Plan anyway" only once planning was refused for contact fatigue (or is being overridden).
        fatigue = isinstance(getattr(request, "_service_error", None), ContactFatigue)
        if not (fatigue or request.POST.get("plan_anyway")):
            return self.fieldsets
        (name, options), *others = self.fieldsets
        return ((name, {**options, "fields": (*options["fields"], "plan_anyway")}), *others)

    def extra_service_fields(self, request, obj, form, change):
        # The override alone is no change worth saving.
        if form.cleaned_data.get("plan_anyway") and (not change or set(form.changed_data) - {"plan_anyway"}):
            return {"override": True}
        return {}

    @admin.display(description=gettext_lazy("contact"), ordering="contact__last_name")
    def contact_name(self, follow_up):
        return follow_up.contact.display_name

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, follow_up):
        return badge(follow_up.status, follow_up.get_status_display())

    @admin.display(description=gettext_lazy("due"), ordering="due_at")
    def due(self, follow_up):
        if follow_up.is_overdue:
            return format_html('<span class="ror-overdue" title="{}">{}</span>', _("overdue"), short_date(follow_up.due_at))
        return short_date(follow_up.due_at)

    @admin.display(description=gettext_lazy("deal"), ordering="deal_value")
    def deal(self, follow_up):
        if follow_up.deal_status == DealStatus.NONE and follow_up.deal_value is None:
            return "—"
        value = localized(follow_up.deal_value) if follow_up.deal_value is not None else ""  # rounded, as the timeline
        if value and follow_up.event is not None:  # money in its event's currency (list_select_related)
            value = f"{value} {follow_up.event.currency}"
        return format_html("{} {}", badge(follow_up.deal_status, follow_up.get_deal_status_display()), value)

    @admin.action(description=gettext_lazy("Mark selected follow-ups as done"), permissions=["change"])
    def mark_done(self, request, queryset):
        done = 0
        for follow_up in queryset.filter(status=FollowUpStatus.PLANNED).select_related("contact", "event"):
            try:
                services.mark_follow_up_done(follow_up)
                done += 1
            except SERVICE_ERRORS as exc:
                self.report_service_error(request, follow_up, exc)
        self.message_user(request, ngettext(
            "Marked %(count)d follow-up as done.", "Marked %(count)d follow-ups as done.", done
        ) % {"count": done}, messages.SUCCESS)


@admin.register(Referral)
class ReferralAdmin(ServiceAdminMixin, admin.ModelAdmin):
    create_service = staticmethod(services.create_referral)
    update_service = staticmethod(services.update_referral)
    delete_service = staticmethod(services.delete_referral)
    contact_fields = ("referrer", "referred")

    list_display = ("referrer", "referred_display", event_column, "made")
    list_select_related = ("referrer", "referred", "event")
    list_filter = ("event__series",)
    date_hierarchy = "created_at"
    search_fields = ("referrer__email", "referrer__first_name", "referrer__last_name", "referred__email",
                     "referred__first_name", "referred__last_name", "referred_email")
    autocomplete_fields = ("referrer", "referred", "event")
    fields = ("referrer", "referred", "referred_email", "event", "created_at")
    readonly_fields = ("created_at",)

    @admin.display(description=gettext_lazy("created at"), ordering="created_at")
    def made(self, referral):
        return short_datetime(referral.created_at)

    @admin.display(description=gettext_lazy("referred"))
    def referred_display(self, referral):
        return referral.referred or referral.referred_email or "—"


# Users -----------------------------------------------------------------------------------------
# Agency staff and sales may view users: the owner pickers and filters name them. Who may only
# view sees who is who, nothing of an account's password, rights or logins.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class TeamUserAdmin(UserAdmin):
    VIEW_ONLY_FIELDS = ("username", "first_name", "last_name", "email", "is_active")

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return [(None, {"fields": self.VIEW_ONLY_FIELDS})]
        return super().get_fieldsets(request, obj)

    def get_list_display(self, request):
        if not self.has_change_permission(request):
            return ("username", "first_name", "last_name", "email")
        return super().get_list_display(request)

    def get_list_filter(self, request):
        return super().get_list_filter(request) if self.has_change_permission(request) else ("is_active",)
