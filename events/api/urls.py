from rest_framework.routers import SimpleRouter

from events.api import views

router = SimpleRouter()
router.register("series", views.SeriesViewSet, basename="series")
router.register("events", views.EventViewSet, basename="event")
router.register("attendances", views.AttendanceViewSet, basename="attendance")
router.register("interactions", views.InteractionViewSet, basename="interaction")
router.register("feedback", views.FeedbackViewSet, basename="feedback")

urlpatterns = router.urls
