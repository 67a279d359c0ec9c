"""The what-if page of a scoring profile: it beside the active profile on the whole base (docs/profiles.md).

Reached from the profile's change page. The computation (scoring.services.whatif) takes seconds at
100,000 contacts, so it runs as a Celery task: the page starts it, shows its progress and reloads
itself (static/admin-ror/reload-while-running.js) until the result is in the cache; Cancel stops it. With eager
Celery (the embedded default) the task runs inside the request and the page shows the result at once.
"""

from dataclasses import replace
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ror_crm import queue
from scoring.charts import column_chart_svg
from scoring.choices import ChurnRisk, LifecycleStage
from scoring.formatting import localized, signed
from scoring.models import ScoringProfile
from scoring.services.whatif import (
    CHURN_RISKS,
    STAGES,
    Distribution,
    Mover,
    ValidityComparison,
    WhatIf,
    cached_whatif,
    cancel_run,
    claim_run,
    release_run,
    run_state,
    whatif_cache_key,
)

# Staff who may read profiles and scores (Agency staff and Sales): the page names contacts and their scores.
PERMISSIONS = ("scoring.view_scoringprofile", "scoring.view_contactscore")
RELOAD_SECONDS = 2
CHART_WIDTH = 460


def _score(value: float | None) -> str:
    return "–" if value is None else localized(value, 1)


def _auc(value: float | None) -> str:
    return "–" if value is None else localized(value, 3)


def _band(index: int) -> str:
    return f"{index * 10}–{index * 10 + 10}" if index < 9 else "90–100"


def distribution_chart(distribution: Distribution, *, title: str, max_value: int) -> str:
    """Contacts per band of 10 points; both charts share `max_value`, so their bars compare."""
    return column_chart_svg(
        [(_band(index), count) for index, count in enumerate(distribution.bins)],
        max_value=max_value, width=CHART_WIDTH, title=title, value_format=0,
        empty_message=_("No contacts"),
    )


def distribution_rows(result: WhatIf) -> list[dict[str, str]]:
    rows = []
    for label, name in ((_("Mean"), "mean"), (_("Lower quartile"), "lower_quartile"), (_("Median"), "median"),
                        (_("Upper quartile"), "upper_quartile")):
        active, whatif = getattr(result.active, name), getattr(result.whatif, name)
        change = None if active is None or whatif is None else whatif - active
        rows.append({"label": label, "active": _score(active), "whatif": _score(whatif),
                     "change": "–" if change is None else signed(change, 1)})
    return rows


def matrix_table(matrix: dict[str, dict[str, int]], keys: tuple[str, ...], labels: dict[str, str]) -> dict[str, Any]:
    """Rows = the active profile's class, columns = the what-if's; the diagonal is "no change"."""
    rows = [
        {
            "key": row, "label": labels[row],
            "cells": [{"column": column, "value": localized(matrix[row][column]), "count": matrix[row][column],
                       "same": row == column} for column in keys],
            "total": localized(sum(matrix[row].values())),
        }
        for row in keys
    ]
    totals = [localized(sum(matrix[row][column] for row in keys)) for column in keys]
    return {"columns": [labels[key] for key in keys], "rows": rows, "totals": totals,
            "total": localized(sum(sum(matrix[row].values()) for row in keys))}


def mover_rows(movers: list[Mover], stage_labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "contact_id": mover.contact_id, "name": mover.name,
            "url": reverse("admin:contacts_contact_change", args=[mover.contact_id]),
            "active": _score(mover.active_score), "whatif": _score(mover.whatif_score),
            "change": signed(mover.change, 1),
            "stage": stage_labels[mover.active_stage] if mover.active_stage == mover.whatif_stage
            else f"{stage_labels[mover.active_stage]} → {stage_labels[mover.whatif_stage]}",
        }
        for mover in movers
    ]


def validity_rows(result: WhatIf) -> list[dict[str, Any]]:
    groups: list[ValidityComparison] = [result.validity, *result.validity_series]
    if len(result.validity_series) == 1:
        groups = result.validity_series  # one series: its row says it all
    rows = []
    for group in groups:
        better = None
        if group.active_auc is not None and group.whatif_auc is not None and group.active_auc != group.whatif_auc:
            better = "whatif" if group.whatif_auc > group.active_auc else "active"
        rows.append({
            "name": group.name if group.series_id is not None else _("All series"),
            "overall": group.series_id is None, "editions": localized(group.editions), "pairs": localized(group.pairs),
            "active": _auc(group.active_auc), "whatif": _auc(group.whatif_auc), "better": better,
            "change": "–" if group.active_auc is None or group.whatif_auc is None
            else signed(group.whatif_auc - group.active_auc, 3),
        })
    return rows


def result_context(result: WhatIf) -> dict[str, Any]:
    stage_labels = {stage.value: stage.label for stage in LifecycleStage}
    churn_labels = {risk.value: risk.label for risk in ChurnRisk}
    highest = max([*result.active.bins, *result.whatif.bins, 1])
    captions = [
        (result.active, _("Active: %(profile)s v%(version)s") % {
            "profile": result.active_profile_name, "version": result.active_profile_version}),
        (result.whatif, _("What if: %(profile)s v%(version)s") % {
            "profile": result.profile_name, "version": result.profile_version}),
    ]
    return {
        "charts": [{"caption": caption, "svg": distribution_chart(distribution, max_value=highest, title=caption)}
                   for distribution, caption in captions],
        "distribution_rows": distribution_rows(result),
        "stages": matrix_table(result.stage_transitions, STAGES, stage_labels),
        "churn": matrix_table(result.churn_transitions, CHURN_RISKS, churn_labels),
        "movers_up": mover_rows(result.movers_up, stage_labels),
        "movers_down": mover_rows(result.movers_down, stage_labels),
        "validity_rows": validity_rows(result) if result.validity.pairs else [],
        "contacts_text": localized(result.contacts), "erased_text": localized(result.erased_left_out),
        "stage_changes_text": localized(result.stage_changes), "churn_changes_text": localized(result.churn_changes),
    }


def _start(profile_id: int, key: str) -> dict | None:
    """Queue the what-if for `key` unless a run holds it; the run's state, or None if it could not be sent.
    With eager Celery the task has run when this returns."""
    from scoring.tasks import profile_whatif_task

    run_id = claim_run(key)
    if run_id is None:
        return run_state(key)
    if not queue.publish(lambda: profile_whatif_task.delay(profile_id, key, run_id),
                         what=f"the what-if of scoring profile {profile_id}"):
        release_run(key)
        return None
    return run_state(key)


@staff_member_required
@require_http_methods(["GET", "POST"])
def profile_whatif(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perms(PERMISSIONS):
        raise PermissionDenied
    profile = get_object_or_404(ScoringProfile, pk=pk)
    key = whatif_cache_key(profile)
    if request.method == "POST":  # Cancel
        if cancel_run(key):
            messages.info(request, _("The what-if of %(profile)s was cancelled; nothing was written.") % {
                "profile": profile})
        return redirect("admin:scoring_scoringprofile_change", profile.pk)

    result, state, failed, unavailable = cached_whatif(key), None, False, False
    if result is None:
        state = run_state(key)
        if state is None:
            state = _start(profile.pk, key)
            unavailable = state is None
            result = cached_whatif(key)  # eager Celery: computed just now
            result = result and replace(result, from_cache=False)
        if state is not None and state["status"] == "failed":
            failed, state = True, None
            release_run(key)  # said once; the next visit tries again
    context = {
        **admin.site.each_context(request),
        "title": _("What if %(profile)s were active") % {"profile": profile},
        "profile": profile,
        "opts": ScoringProfile._meta,
        "result": result,
        "state": None if result is not None else state,
        "progress": None if result is not None or state is None else {
            "done": localized(state["done"]), "total": localized(state["total"])},
        "failed": failed,
        "unavailable": unavailable,
        "reload_seconds": RELOAD_SECONDS,
        **(result_context(result) if result is not None else {}),
    }
    return render(request, "ror/whatif.html", context)
