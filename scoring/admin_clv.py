"""The customer-lifetime-value lines of the contact page's relationship panel (docs/clv.md)."""

import math

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contacts.models import Contact
from ror_crm.admin_tools import related_or_none, short_datetime
from scoring.formatting import localized
from scoring.models import ClvModel


def clv_panel(contact: Contact) -> dict | None:
    """The contact's CLV and expected attendances, localised, with the fit they come from; None
    before the first fit or for a contact without a CLV. Two queries (the CLV, its fit)."""
    score = related_or_none(contact, "score")
    lifetime = related_or_none(score, "lifetime_value") if score is not None else None
    if lifetime is None or lifetime.clv is None:
        return None
    model = ClvModel.objects.filter(as_of=lifetime.as_of).order_by("-id").first()
    value = f"{localized(lifetime.clv, 2)} {lifetime.clv_currency}".strip()
    expected = localized(lifetime.expected_attendances or 0, 1)
    if model is None:
        return {"value": value, "expected": "", "note": ""}
    years = model.horizon_years
    horizon = ngettext("%(years)s year", "%(years)s years", math.ceil(years)) % {
        "years": localized(years, 1 if years % 1 else 0)}
    return {
        "value": value,
        "expected": _("%(count)s attendances expected in %(horizon)s") % {"count": expected, "horizon": horizon},
        "note": _(
            "Expected attendances at the editions of the contact's series in the horizon × %(value)s per "
            "attendance (won deals ÷ attendances); model fitted as of %(as_of)s."
        ) % {
            "value": f"{localized(model.value_per_attendance, 2)} {model.currency}".strip(),
            "as_of": short_datetime(model.as_of),
        },
    }
