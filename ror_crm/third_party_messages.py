"""Texts of third-party pages that their German catalogues lack. Named here so that the project's
catalogue carries them: Django reads LOCALE_PATHS before the apps' own catalogues."""

from django.utils.translation import gettext_noop

SIMPLE_HISTORY = (
    gettext_noop("View history: %s"),  # the page's title
    gettext_noop("Changes"),  # the column of what each change changed
)
IMPORT_EXPORT = (gettext_noop("Select all"),)  # the export page's box ticking every column
