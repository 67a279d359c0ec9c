"""Texts of django-simple-history's history pages that its German catalogue lacks. Named here so that
the project's catalogue carries them: Django reads LOCALE_PATHS before the apps' own catalogues."""

from django.utils.translation import gettext_noop

SIMPLE_HISTORY = (
    gettext_noop("View history: %s"),  # the page's title
    gettext_noop("Changes"),  # the column of what each change changed
)
