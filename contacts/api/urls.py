from django.urls import path
from rest_framework.routers import SimpleRouter

from contacts.api import views
from contacts.api.referral_chain import ReferralChainView

router = SimpleRouter()
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("follow-ups", views.FollowUpViewSet, basename="follow-up")
router.register("referrals", views.ReferralViewSet, basename="referral")

urlpatterns = [
    path("reports/follow-up-performance/", views.FollowUpPerformanceView.as_view(), name="follow-up-performance-report"),
    path("contacts/<int:pk>/referral-chain/", ReferralChainView.as_view(), name="contact-referral-chain"),
    *router.urls,
]
