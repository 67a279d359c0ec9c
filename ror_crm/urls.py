import sys

from django.contrib import admin
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import include, path, reverse_lazy
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.generic import RedirectView

from contacts import views as contact_views
from ror_crm import health
from ror_crm.middleware import service_unavailable, service_unavailable_response
from scoring import views as scoring_views
from scoring.pages import cohorts as cohorts_page
from scoring.pages import matched_lift as matched_lift_page
from scoring.pages import profile_fit as profile_fit_page
from scoring.pages import whatif as whatif_page

# The product's name in the admin header and the browser tab (a name: not translated).
admin.site.site_header = admin.site.site_title = "RoR CRM"
# "View site" and the site's root lead to the RoR dashboard: the product has no public pages.
admin.site.site_url = reverse_lazy("ror-dashboard")
# No navigation sidebar: at 1,366 px it took the width the lists and the worklist need (their
# last columns were cut); the index, the breadcrumbs and the header's links lead everywhere.
admin.site.enable_nav_sidebar = False
# Empty cells read "—" everywhere, as the product's own columns and pages write them (Django: "-").
admin.site.empty_value_display = "—"



class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on any page without an icon link (the API's, a 404's)."""

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("admin-ror/favicon.svg")


def permission_denied(request, exception=None):
    """A refused page in the admin's frame with a way back, not Django's bare "403 Forbidden".
    (The API's refusals are DRF's JSON.)"""
    context = {**admin.site.each_context(request), "title": _("No access")}
    return render(request, "403.html", context, status=403)


handler403 = permission_denied


def server_error(request):
    """Django's 500 page; 503 with Retry-After when Redis or PostgreSQL was unreachable (raised
    in a middleware, e.g. the session or idempotency lookups, before any view could say so)."""
    error = sys.exc_info()[1]
    if service_unavailable(error):
        return service_unavailable_response(request, error)
    return defaults.server_error(request)


handler500 = server_error

urlpatterns = [
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("", RedirectView.as_view(pattern_name="ror-dashboard"), name="home"),
    path("health/", health.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("ror_crm.api_urls")),
    # RoR pages beside the admin; before admin.site.urls, whose catch-all would 404 them.
    path("admin/ror/dashboard/", scoring_views.dashboard, name="ror-dashboard"),
    path("admin/ror/score-validity/", scoring_views.score_validity, name="ror-score-validity"),
    path("admin/ror/cohorts/", cohorts_page.cohorts, name="ror-cohorts"),
    path("admin/ror/next-action-rules/", scoring_views.next_action_rules, name="ror-next-action-rules"),
    path("admin/ror/worklist/", contact_views.worklist, name="ror-worklist"),
    path("admin/ror/worklist/log/", contact_views.log_follow_up, name="ror-log-follow-up"),
    path("admin/ror/worklist/<int:pk>/done/", contact_views.mark_follow_up_done, name="ror-follow-up-done"),
    path("admin/ror/worklist/<int:pk>/undo-done/", contact_views.undo_follow_up_done, name="ror-follow-up-undo-done"),
    path("admin/ror/profiles/fit/", profile_fit_page.profile_fit, name="ror-profile-fit"),
    path("admin/ror/profiles/<int:pk>/whatif/", whatif_page.profile_whatif, name="ror-profile-whatif"),
    path("admin/ror/events/<int:pk>/lift/", matched_lift_page.event_lift, name="ror-event-lift"),
    path("admin/", admin.site.urls),
]
