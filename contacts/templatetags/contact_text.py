"""How contact data reads in narrow table cells."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def email_breaks(email: str | None) -> SafeString:
    """The address with line-break opportunities after "@" and before each dot: a narrow cell
    wraps it at "@" or a dot (anna.weber@ / datenwerk / .example), not inside a word."""
    escaped = escape(email or "")
    return mark_safe(re.sub(r"(@)|(?=\.)", lambda match: (match.group(1) or "") + "<wbr>", escaped))
