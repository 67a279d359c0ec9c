"""The admin page of the fitted profile: the out-of-time split, the test AUC of the active and the
fitted profile side by side, both profiles' weights, and one button that saves the fitted
profile as a new inactive version (services/fitting.py holds every rule)."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from scoring.formatting import localized, signed
from scoring.models import COMPONENTS, ScoringProfile
from scoring.services.fitting import INNER_VALIDATION, TEST, ProfileFit, create_fitted_profile, fit_profile
from scoring.views import component_labels

# Reading the fit: staff who may view profiles (Agency staff and Sales); creating the profile:
# staff who may change them (Agency staff).
VIEW_PERMISSION = "scoring.view_scoringprofile"
CREATE_PERMISSION = "scoring.change_scoringprofile"


def _auc(value: float | None) -> str:
    return "–" if value is None else localized(value, 3)


def _weight(value: float | None) -> str:
    return "–" if value is None else localized(value, 3)


def _days(value: float | None) -> str:
    return "–" if value is None else localized(value, 0)


def _share(part: int, whole: int) -> str:
    return "–" if not whole else f"{localized(part / whole * 100, 1)} %"


def weight_rows(fit: ProfileFit) -> list[dict[str, Any]]:
    labels = component_labels()
    fitted = fit.fitted_weights or {}
    return [
        {
            "component": name, "label": labels[name], "active": _weight(fit.active_weights.get(name)),
            "fitted": _weight(fitted.get(name)),
            "change": signed(fitted[name] - fit.active_weights.get(name, 0), 3) if name in fitted else "–",
            "bar": round(fitted.get(name, 0) * 100, 1),
        }
        for name in COMPONENTS
    ]


def edition_rows(fit: ProfileFit) -> list[dict[str, Any]]:
    parts = {"train": _("fit on"), "test": _("tested on"), "": "–"}
    return [
        {
            "event_id": edition.event_id, "name": edition.name, "series": edition.series_name,
            "starts_at": formats.date_format(timezone.localtime(edition.starts_at), "SHORT_DATE_FORMAT"),
            "pairs": localized(edition.pairs), "returned": _share(edition.returned, edition.pairs),
            "part": edition.part, "part_label": parts[edition.part],
        }
        for edition in fit.editions
    ]


def fit_notes(fit: ProfileFit) -> list[str]:
    """What a reader of the figures must know, in plain sentences."""
    labels, notes = component_labels(), []
    if not fit.available:
        return notes
    if fit.left_out:
        notes.append(_(
            "Weight 0 for %(components)s: in the training editions, the other components taken into account, "
            "more of it went with fewer returns, and a score must not count a component against a contact. "
            "The fit was repeated without it."
        ) % {"components": ", ".join(labels[name] for name in fit.left_out)})
    if fit.constant:
        notes.append(_(
            "Weight 0 for %(components)s: it was the same for every contact of the training editions, so "
            "nothing could be learned about it."
        ) % {"components": ", ".join(labels[name] for name in fit.constant)})
    gain = fit.auc_gain
    if gain is not None and gain <= 0:
        notes.append(_(
            "On the test editions the fitted profile ranks those who came back no better than the active one "
            "(AUC %(fitted)s against %(active)s): keeping the active profile loses nothing."
        ) % {"fitted": _auc(fit.fitted_test_auc), "active": _auc(fit.active_test_auc)})
    if fit.few_test_pairs:
        notes.append(_(
            "The test editions hold only %(pairs)s pairs: a difference between the two AUCs this small may be "
            "chance. Check again after more editions."
        ) % {"pairs": localized(fit.test_pairs)})
    return notes


def trial_rows(fit: ProfileFit) -> list[dict[str, Any]]:
    return [
        {"half_life": _days(trial.half_life_days), "auc": _auc(trial.selection_auc),
         "chosen": fit.available and trial.half_life_days == fit.fitted_half_life_days,
         "active": trial.half_life_days == fit.active_half_life_days}
        for trial in fit.trials
    ]


def _context(request: HttpRequest, fit: ProfileFit) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "title": _("A profile fitted to your history"),
        "fit": fit,
        "weights": weight_rows(fit),
        "editions": edition_rows(fit),
        "test_editions": sum(1 for edition in fit.editions if edition.part == TEST),
        "train_editions": sum(1 for edition in fit.editions if edition.part == "train"),
        "train_returned": _share(fit.train_returned, fit.train_pairs),
        "test_returned": _share(fit.test_returned, fit.test_pairs),
        "active_auc": _auc(fit.active_test_auc),
        "fitted_auc": _auc(fit.fitted_test_auc),
        "gain": "–" if fit.auc_gain is None else signed(fit.auc_gain, 3),
        "active_half_life": _days(fit.active_half_life_days),
        "fitted_half_life": _days(fit.fitted_half_life_days),
        "inner_validation": fit.selection == INNER_VALIDATION,
        "trials": trial_rows(fit),
        "notes": fit_notes(fit),
        "test_share": localized(fit.test_share * 100),
        "can_create": request.user.has_perm(CREATE_PERMISSION),
    }


@staff_member_required
@require_http_methods(["GET", "POST"])
def profile_fit(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    if request.method == "POST":
        return _create(request)
    return render(request, "ror/profile_fit.html", _context(request, fit_profile()))


def _create(request: HttpRequest) -> HttpResponse:
    """Save the fit shown as a new inactive profile version, and open it."""
    if not request.user.has_perm(CREATE_PERMISSION):
        raise PermissionDenied
    fit = fit_profile()
    if request.POST.get("data_version") != fit.data_version:
        # The data or the active profile changed after the page was shown: the fit may differ.
        messages.warning(request, _(
            "The data or the active profile changed since the page was shown, so the fit was computed again. "
            "Check the new figures, then create the profile."
        ))
        return redirect("ror-profile-fit")
    if not fit.available:
        messages.error(request, fit.reason)
        return redirect("ror-profile-fit")
    try:
        profile = create_fitted_profile(fit)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("ror-profile-fit")
    admin.site.get_model_admin(ScoringProfile).log_addition(request, profile, [{"added": {}}])
    messages.success(request, _(
        "%(profile)s was created, inactive. Compare it with the active profile before you activate it."
    ) % {"profile": profile})
    return redirect("admin:scoring_scoringprofile_change", profile.pk)
