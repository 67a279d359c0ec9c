from ror_crm.exceptions import DomainError


class DuplicateContact(DomainError):
    """Another contact has this e-mail (compared trimmed and lower-cased)."""

    code = "contact_exists"
    field = "email"


class ContactErased(DomainError):
    """The contact was erased (GDPR); it keeps its id and rows but takes no more writes."""

    code = "contact_erased"
    field = "contact"


class DuplicateOrganization(DomainError):
    """Another organization has this name (compared case-insensitively)."""

    code = "organization_exists"
    field = "name"


class ContactFatigue(DomainError):
    """The agency's own touches of the contact reached a cap (contacts.fatigue): planning one
    more follow-up needs an explicit override. `days`, `touches`, `cap` name the window."""

    code = "contact_fatigue"
    field = "plan_anyway"  # the admin's override box, shown with the warning

    def __init__(self, message: str, *, days: int, touches: int, cap: int):
        super().__init__(message)
        self.days, self.touches, self.cap = days, touches, cap
