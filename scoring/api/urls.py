from rest_framework.routers import SimpleRouter

from scoring.api.views import ContactScoreViewSet

router = SimpleRouter()
router.register("scores", ContactScoreViewSet, basename="score")

urlpatterns = router.urls
