from django.urls import path
from rest_framework.routers import SimpleRouter

from scoring.api.views import ContactScoreViewSet, ScoreValidityView

router = SimpleRouter()
router.register("scores", ContactScoreViewSet, basename="score")

urlpatterns = [
    path("reports/score-validity/", ScoreValidityView.as_view(), name="score-validity-report"),
    *router.urls,
]
