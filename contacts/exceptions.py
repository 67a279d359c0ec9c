from ror_crm.exceptions import DomainError


class DuplicateContact(DomainError):
    """Another contact has this e-mail (compared trimmed and lower-cased)."""

    code = "contact_exists"


class ContactErased(DomainError):
    """The contact was erased (GDPR); it keeps its id and rows but takes no more writes."""

    code = "contact_erased"


class DuplicateOrganization(DomainError):
    """Another organization has this name (compared case-insensitively)."""

    code = "organization_exists"
