"""The "Referral chain" panel of the contact page: who the contact brought, who those brought,
and what followed (contacts.referral_chain; docs/referrals.md). A fixed number of queries per level."""

from django.urls import reverse
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.referral_chain import ChainNode, referral_chain
from scoring.formatting import localized


def _person(node: ChainNode) -> str:
    if node.erased:
        return _("Erased contact")
    if node.contact_id is None:
        return node.email or _("Unknown (e-mail removed)")
    return node.name or node.email


def referral_chain_panel(contact: Contact) -> dict | None:
    """The chain to the default depth as rows of a table, with its totals; None when the contact
    referred nobody (no panel)."""
    chain = referral_chain(contact.pk)
    if not chain.nodes:
        return None
    rows = []
    for node in chain.walk():
        rows.append({
            "depth": node.depth,
            "person": _person(node),
            "url": reverse("admin:contacts_contact_change", args=[node.contact_id]) if node.contact_id else None,
            "linked": node.contact_id is not None,
            "referred_at": node.referred_at,
            "event_name": node.event_name,
            "event_url": reverse("admin:events_event_change", args=[node.event_id]) if node.event_id else None,
            "repeated": node.repeated,
            "converted": node.converted,
            "events_attended": node.events_attended,
            "last_attended": node.last_attended,
            "won_value": localized(node.won_value, 0) if node.won_value else "—",
        })
    return {
        "chain": chain,
        "rows": rows,
        "won_value": localized(chain.won_value, 0),
        "deeper_note": _("The chain goes on past %(depth)s levels.") % {"depth": chain.max_depth} if chain.deeper else "",
    }
