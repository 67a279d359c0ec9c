"""The event page's panel "Relationship lift vs. matched non-attendees", its Compute link and its CSV
(scoring.services.matched_lift holds every rule).

Computing the lift reads every contact's score before the event: seconds at 100,000 contacts.
The event page never computes it: it shows the result cached for the current data version, or a
Compute link; computing caches it for everyone until the data change.
"""

import csv
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from events.models import Event
from ror_crm.validators import MAX_ID
from scoring.choices import LifecycleStage
from scoring.formatting import localized, signed
from scoring.services.matched_lift import (
    CALIPER_POINTS,
    DEFAULT_DAYS,
    DEFAULT_RESAMPLES,
    NO_CANDIDATE,
    ORG_SIZE_NAMES,
    STAGES,
    MatchedLift,
    cached_matched_lift,
    matched_lift,
)

# Reading an event's lift: staff who may view events, as for the event page and events/{id}/lift/.
VIEW_PERMISSION = "events.view_event"
PANEL_ID = "ror-event-lift"


def org_size_labels() -> dict[str, str]:
    return {
        "none": _("No organization"), "1": _("Organization of 1 contact"), "2-9": _("2–9 contacts"),
        "10-49": _("10–49 contacts"), "50+": _("50 or more contacts"),
    }


def _points(value: float | None) -> str:
    return "—" if value is None else signed(value, 1)


def _share(value: float) -> str:
    return f"{localized(value * 100, 0)} %"


def balance_rows(result: MatchedLift) -> list[dict[str, Any]]:
    """One row per figure, one cell per group (attendees, candidates, matched attendees, matched controls)."""
    groups = result.balance.groups
    stage_labels, size_labels = dict(LifecycleStage.choices), org_size_labels()
    rows = [
        {"label": _("Contacts (pairs for controls)"), "cells": [localized(group.contacts) for group in groups]},
        {"label": _("Mean score before"), "cells": [
            "—" if group.mean_score_before is None else localized(group.mean_score_before, 1) for group in groups
        ]},
    ]
    rows += [{"label": _("Stage: %(stage)s") % {"stage": stage_labels[stage]},
              "cells": [_share(group.stage_shares[stage]) for group in groups]} for stage in STAGES]
    rows += [{"label": size_labels[size], "cells": [_share(group.org_size_shares[size]) for group in groups]}
             for size in ORG_SIZE_NAMES]
    return rows


def lift_panel(event: Event, request: HttpRequest) -> dict[str, Any]:
    """The panel's context. No query while the lift is not available, one (the data version) when it is."""
    result = cached_matched_lift(event)
    url = reverse("ror-event-lift", args=[event.pk])
    panel: dict[str, Any] = {
        "result": result, "compute_url": url, "csv_url": f"{url}?format=csv",
        "can_compute": request.user.has_perm(VIEW_PERMISSION),
        "method": _(
            "Attendees are compared with non-attendees who stood the same just before the event: the same "
            "lifecycle stage and organization size, and the nearest score (within %(caliper)s points; a "
            "non-attendee may serve several attendees). Effect: the attendees' score change over the %(days)s "
            "days after the event minus the matched non-attendees' change (difference in differences). "
            "Interval: 95 %% percentile bootstrap over the pairs (%(resamples)s resamples)."
        ) % {"caliper": localized(CALIPER_POINTS), "days": localized(DEFAULT_DAYS),
             "resamples": localized(DEFAULT_RESAMPLES)},
    }
    if result is None or not result.is_ready:
        return {"matched_lift": panel}
    no_candidate = sum(1 for attendee in result.unmatched_attendees if attendee.reason == NO_CANDIDATE)
    panel |= {
        "tiles": [
            {"label": _("Lift (score points)"), "value": _points(result.effect)},
            {"label": _("Interval (95 %)"), "value": "—" if result.ci_low is None
             else _("%(low)s to %(high)s") % {"low": signed(result.ci_low, 1), "high": signed(result.ci_high, 1)}},
            {"label": _("Attendees matched"), "value": _("%(matched)s of %(attendees)s") % {
                "matched": localized(result.matched), "attendees": localized(result.attendees)}},
            {"label": _("Distinct controls"), "value": localized(result.distinct_controls)},
        ],
        "rows": [
            (_("Mean score change of matched attendees"), _points(result.attendee_change)),
            (_("Mean score change of matched non-attendees"), _points(result.control_change)),
            (_("Non-attendees who could be matched"), localized(result.candidates)),
            (_("Unmatched: no non-attendee of the same stage and organization size"), localized(no_candidate)),
            (_("Unmatched: nearest score more than %(caliper)s points away") % {"caliper": localized(result.caliper)},
             localized(result.unmatched - no_candidate)),
            (_("Standardized mean difference of the score before, before / after matching"),
             f"{_smd(result.balance.smd_before_matching)} / {_smd(result.balance.smd_after_matching)}"),
        ],
        "balance_rows": balance_rows(result),
        "computed_at": timezone.localtime(result.computed_at),
    }
    return {"matched_lift": panel}


def _smd(value: float | None) -> str:
    return "—" if value is None else localized(value, 2)


@staff_member_required
def event_lift(request: HttpRequest, pk: int) -> HttpResponse:
    """Compute the event's lift (cached for this data version) and go back to its panel; with
    `?format=csv` download its matched pairs and unmatched attendees instead."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    if pk > MAX_ID:
        raise Http404
    try:
        result = matched_lift(pk)
    except Event.DoesNotExist:
        raise Http404(_("No event with id %(id)s.") % {"id": pk}) from None
    if not result.is_ready:
        messages.warning(request, result.summary)
    elif request.GET.get("format") == "csv":
        return lift_csv(result)
    return redirect(reverse("admin:events_event_change", args=[pk]) + f"#{PANEL_ID}")


def lift_csv(result: MatchedLift) -> HttpResponse:
    """One row per matched pair, then one per unmatched attendee (control columns empty)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="event-{result.event_id}-lift.csv"'
    writer = csv.writer(response)
    writer.writerow(["attendee", "control", "stage", "org_size", "attendee_score_before", "attendee_score_after",
                     "control_score_before", "control_score_after", "difference", "unmatched_reason"])
    for pair in result.pairs:
        writer.writerow([pair.attendee_id, pair.control_id, pair.stage, pair.org_size, pair.attendee_before,
                         pair.attendee_after, pair.control_before, pair.control_after, round(pair.difference, 4), ""])
    for attendee in result.unmatched_attendees:
        writer.writerow([attendee.contact_id, "", attendee.stage, attendee.org_size, attendee.score_before, "", "", "",
                         "", attendee.reason])
    return response
