from django.urls import path
from rest_framework.routers import SimpleRouter

from scoring.api.cohorts import CohortMatrixView
from scoring.api.matched_lift import MatchedLiftView
from scoring.api.views import ContactScoreViewSet, ScoreValidityView

router = SimpleRouter()
router.register("scores", ContactScoreViewSet, basename="score")

urlpatterns = [
    path("reports/score-validity/", ScoreValidityView.as_view(), name="score-validity-report"),
    path("reports/cohorts/", CohortMatrixView.as_view(), name="cohorts-report"),
    path("events/<int:pk>/lift/", MatchedLiftView.as_view(), name="event-lift"),
    *router.urls,
]
