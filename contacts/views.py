"""The sales worklist: one user's overdue, due and at-risk follow-ups, and the one-click writes.

Pages live beside the admin (same look, same login) and write only through
contacts.services. Writes are POST with CSRF and end in a redirect with a message.
"""


from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contacts import services
from contacts.choices import FollowUpStatus
from contacts.exceptions import ContactFatigue
from contacts.forms import FOLLOW_UP_GONE, FollowUpDoneForm, FollowUpLogForm
from contacts.models import Contact, FollowUp
from contacts.worklist import (
    ACTIONS,
    FOLLOW_UPS,
    LOSING_TOUCH,
    MISSED,
    TEAM,
    VIEWS,
    owns_work,
    worklist_for,
    worklist_owners,
)
from ror_crm.admin_tools import person_name
from ror_crm.exceptions import DomainError
from ror_crm.validators import parse_id

# The worklist is for anyone who works follow-ups: staff who may see, add and change them
# (both the "Agency staff" and the "Sales" group).
VIEW_PERMISSION = "contacts.view_followup"
ADD_PERMISSION = "contacts.add_followup"
CHANGE_PERMISSION = "contacts.change_followup"
TEAM_PERMISSION = "contacts.review_team_worklist"


def _require(request: HttpRequest, *permissions: str) -> None:
    if not request.user.has_perms(permissions):
        raise PermissionDenied


def _next_url(request: HttpRequest) -> str:
    """Where to go back to: a safe `next` from the form, else the worklist."""
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("ror-worklist")


def _id_param(request: HttpRequest, name: str) -> int | None:
    return parse_id(request.GET.get(name))


def _add_service_error(form, exc: Exception) -> None:
    """A service refusal as form errors: beside the field it names, else above the form."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        for field, field_messages in exc.message_dict.items():
            target = field if field in form.fields else None
            prefix = "" if target or field == NON_FIELD_ERRORS else f"{field}: "
            for message in field_messages:
                form.add_error(target, f"{prefix}{message}")
        return
    form.add_error(None, exc.messages if isinstance(exc, ValidationError) else str(exc))


@staff_member_required
def worklist(request: HttpRequest) -> HttpResponse:
    """My worklist: ?view= next best actions (default), follow-ups, losing touch, missed deadline;
    with ?owner=team (or a user's id) the team's, for those allowed to see it."""
    _require(request, VIEW_PERMISSION)
    can_see_team = request.user.has_perm(TEAM_PERMISSION)
    owner, title = request.user, _("My worklist")
    scope = request.GET.get("owner", "")
    view = request.GET.get("view", ACTIONS)
    if view not in VIEWS:
        view = ACTIONS
    if scope and not can_see_team:
        raise PermissionDenied
    if not scope and can_see_team and not owns_work(request.user):
        scope = TEAM  # someone who owns nothing (agency staff) opens on the team's list, not an empty one
    if scope == TEAM:
        owner, title = TEAM, _("Team worklist")
    elif parse_id(scope) not in (None, request.user.pk):
        owner = get_object_or_404(get_user_model(), pk=parse_id(scope))
        title = _("Worklist of %(owner)s") % {"owner": person_name(owner)}
    scope_query = f"owner={TEAM if owner == TEAM else owner.pk}&" if owner != request.user else ""
    page = request.GET.get("page", "")
    page = min(parse_id(page) or 1, 10**6)
    worklist = worklist_for(owner, now=timezone.now(), view=view, page=page)
    list_page = worklist.at_risk_page if view == FOLLOW_UPS else worklist.missed_page if view == MISSED \
        else worklist.contacts_page
    if list_page.number > list_page.pages:  # past the end (its last rows were just dealt with): the last page
        return HttpResponseRedirect(_page_url(request, list_page.pages))
    context = {
        **admin.site.each_context(request),
        "title": title,
        "worklist": worklist,
        "page_links": {"previous": _page_url(request, page - 1), "next": _page_url(request, page + 1)},
        "view": view,
        "views": [(name, label, f"?{scope_query}view={name}") for name, label in (
            (ACTIONS, _("Next best actions")), (FOLLOW_UPS, _("My follow-ups") if owner == request.user else _("Follow-ups")),
            (LOSING_TOUCH, _("Losing touch")), (MISSED, _("Missed deadline")))],
        "scope": "team" if owner == TEAM else "mine" if owner == request.user else "owner",
        "can_see_team": can_see_team,
        "team_owners": worklist_owners() if can_see_team else [],
        "shown_owner": owner if owner not in (TEAM, request.user) else None,
        "show_owner": owner == TEAM,
        "missed_window_days": settings.MISSED_DEADLINE_WINDOW_DAYS,
        "done_form": FollowUpDoneForm(),
        "can_add": request.user.has_perm(ADD_PERMISSION),
        "can_change": request.user.has_perm(CHANGE_PERMISSION),
    }
    return render(request, "ror/worklist.html", context)


def _page_url(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return f"?{query.urlencode()}"


@staff_member_required
def log_follow_up(request: HttpRequest) -> HttpResponse:
    """Log a conversation: a done follow-up (or complete the planned one it came from)."""
    _require(request, VIEW_PERMISSION, ADD_PERMISSION, CHANGE_PERMISSION)
    planned = None
    contact = None
    initial = {}
    if request.method == "GET":
        if _id_param(request, "follow_up"):
            planned = get_object_or_404(
                FollowUp.objects.select_related("contact", "event"), pk=_id_param(request, "follow_up"),
            )
            if planned.status != FollowUpStatus.PLANNED or planned.owner_id != request.user.pk \
                    or planned.contact.erased_at is not None:
                # A link from before it was done or cancelled (another tab, the browser's history).
                messages.warning(request, FOLLOW_UP_GONE)
                contact = planned.contact if planned.contact.erased_at is None else None
                planned = None
            else:
                contact = planned.contact
                initial = {"follow_up": planned, "event": planned.event, "channel": planned.channel,
                           "summary": planned.summary, "next_step": planned.next_step}
        elif _id_param(request, "contact"):
            contact = get_object_or_404(Contact.objects.not_erased(), pk=_id_param(request, "contact"))
        if contact is not None:
            initial["contact"] = contact
        form = FollowUpLogForm(initial=initial, user=request.user, contact=contact)
    else:
        posted_contact = request.POST.get("contact", "")
        contact = Contact.objects.not_erased().filter(pk=posted_contact).first() if parse_id(posted_contact) else None
        form = FollowUpLogForm(request.POST, user=request.user, contact=contact)
        if form.is_valid():
            try:
                data = form.cleaned_data
                follow_up = services.log_follow_up(
                    contact=data["contact"], event=data["event"], owner=request.user, planned=data["follow_up"],
                    next_due_at=form.next_due_at(), plan_anyway=data["plan_anyway"], **form.follow_up_fields(),
                )
            except (DomainError, ValidationError) as exc:
                _add_service_error(form, exc)
                if isinstance(exc, ContactFatigue):
                    form.offer_plan_anyway()
            else:
                next_due_on = form.cleaned_data["next_due_on"]
                if next_due_on is None:
                    message = _("Follow-up with %(contact)s logged.") % {"contact": follow_up.contact}
                else:
                    message = _("Follow-up with %(contact)s logged; the next one is planned for %(day)s.") % {
                        "contact": follow_up.contact, "day": date_format(next_due_on, "SHORT_DATE_FORMAT")}
                messages.success(request, message)
                return HttpResponseRedirect(_next_url(request))
        contact = form.cleaned_data.get("contact") if hasattr(form, "cleaned_data") else None
        planned = form.cleaned_data.get("follow_up") if hasattr(form, "cleaned_data") else None
    context = {
        **admin.site.each_context(request),
        "title": _("Log follow-up"),
        "form": form,
        "planned": planned,
        "contact": contact,
        "next": _next_url(request),
        "media": form.media,
    }
    return render(request, "ror/followup_form.html", context, status=400 if form.is_bound else 200)


@require_POST
@staff_member_required
def mark_follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    """The worklist's "done": the user's own planned follow-up, with an optional outcome."""
    _require(request, VIEW_PERMISSION, CHANGE_PERMISSION)
    follow_up = get_object_or_404(FollowUp.objects.select_related("contact", "event"), pk=pk, owner=request.user)
    form = FollowUpDoneForm(request.POST)
    if follow_up.status != FollowUpStatus.PLANNED:
        messages.warning(request, _("This follow-up was already %(status)s.") % {
            "status": follow_up.get_status_display().lower()})
    elif not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        outcome_before = follow_up.outcome
        try:
            services.mark_follow_up_done(follow_up, outcome=form.cleaned_data["outcome"] or None)
        except (DomainError, ValidationError) as exc:
            for message in exc.messages if isinstance(exc, ValidationError) else [str(exc)]:
                messages.error(request, message)
        else:
            messages.success(request, format_html(
                '{} <form method="post" action="{}" class="ror-undo"><input type="hidden" name="csrfmiddlewaretoken"'
                ' value="{}"><input type="hidden" name="outcome" value="{}"><input type="hidden" name="next" value="{}">'
                '<button type="submit">{}</button></form>',
                _("Follow-up with %(contact)s marked as done.") % {"contact": follow_up.contact},
                reverse("ror-follow-up-undo-done", args=[follow_up.pk]), get_token(request), outcome_before,
                _next_url(request), _("Undo"),
            ))
    return HttpResponseRedirect(_next_url(request))


@require_POST
@staff_member_required
def undo_follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Undo" of the worklist's "done" message: the user's own follow-up planned again, with
    the outcome it had before."""
    _require(request, VIEW_PERMISSION, CHANGE_PERMISSION)
    follow_up = get_object_or_404(FollowUp.objects.select_related("contact"), pk=pk, owner=request.user)
    form = FollowUpDoneForm(request.POST)
    if follow_up.status != FollowUpStatus.DONE:
        messages.warning(request, _("Nothing to undo: this follow-up is %(status)s.") % {
            "status": follow_up.get_status_display().lower()})
    elif not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        try:
            services.reopen_follow_up(follow_up, outcome=form.cleaned_data["outcome"])
        except (DomainError, ValidationError) as exc:
            for message in exc.messages if isinstance(exc, ValidationError) else [str(exc)]:
                messages.error(request, message)
        else:
            messages.success(request, _("Follow-up with %(contact)s is planned again.") % {"contact": follow_up.contact})
    return HttpResponseRedirect(_next_url(request))
