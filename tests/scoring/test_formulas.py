"""DOMAIN.md's scoring formulas, checked against numbers computed by hand in each test."""

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from contacts.models import Contact, FollowUp, Referral
from events.models import Attendance, Event, EventSeries, Feedback, Interaction
from scoring.models import ContactScore, ScoreSnapshot
from scoring.services import recompute_contacts
from scoring.services.event_metrics import net_promoter_score, ror_percent, series_retention_rate

pytestmark = pytest.mark.django_db

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
W = {"attendance": 0.30, "networking": 0.20, "dialogue": 0.20, "care": 0.10, "advocacy": 0.10, "recency": 0.10}


def sat(x: float, k: float) -> float:
    return 1 - math.exp(-x / k)


def expected_score(**components: float) -> float:
    return round(100 * sum(W[name] * components.get(name, 0.0) for name in W), 1)


def event_ending(days_before_t: float, series=None, status="completed", name="E") -> Event:
    ends_at = T - timedelta(days=days_before_t)
    return Event.objects.create(name=name, series=series, starts_at=ends_at - timedelta(hours=8), ends_at=ends_at,
                                status=status, completed_at=ends_at if status == "completed" else None)


def contact(email="anna@example.com") -> Contact:
    return Contact.objects.create(email=email)


def score_of(person: Contact, as_of=T) -> ContactScore:
    recompute_contacts([person.pk], as_of=as_of)
    return ContactScore.objects.get(contact=person)


class TestComponents:
    def test_a_single_attendee_of_a_just_ended_event(self):
        anna = contact()
        Attendance.objects.create(event=event_ending(0), contact=anna, status="attended")

        score = score_of(anna)

        assert score.components["attendance"] == pytest.approx(sat(1, 2), abs=1e-6)
        assert score.components["recency"] == 1.0
        assert score.components["care"] == 0.0
        assert score.score == expected_score(attendance=sat(1, 2), recency=1)  # 21.8
        assert score.score == 21.8
        assert (score.stage, score.churn_risk) == ("socialization", "low")
        assert score.last_touch_at == T
        assert score.profile_version == 1

    def test_a_speaker_with_a_positive_follow_up_within_48_hours(self):
        anna = contact()
        event = event_ending(0)
        Attendance.objects.create(event=event, contact=anna, status="attended", role="speaker")
        FollowUp.objects.create(contact=anna, event=event, status="done", outcome="positive", completed_at=T)

        score = score_of(anna)

        components = {"attendance": sat(1.5, 2), "dialogue": sat(1.5, 3), "care": 1.0, "recency": 1.0}
        for name, value in components.items():
            assert score.components[name] == pytest.approx(value, abs=1e-6)
        assert score.score == expected_score(**components)

    def test_care_is_half_within_seven_days_and_nothing_later(self):
        anna, ben = contact(), contact("ben@example.com")
        event = event_ending(30)
        for person, days in ((anna, 5), (ben, 8)):
            Attendance.objects.create(event=event, contact=person, status="attended")
            FollowUp.objects.create(contact=person, event=event, status="done", completed_at=event.ends_at + timedelta(days=days))
        assert score_of(anna).components["care"] == 0.5
        assert score_of(ben).components["care"] == 0.0

    def test_decay_after_one_half_life_halves_the_contribution(self):
        anna = contact()
        Attendance.objects.create(event=event_ending(180), contact=anna, status="attended")

        score = score_of(anna)

        assert score.components["attendance"] == pytest.approx(sat(0.5, 2), abs=1e-6)
        assert score.components["recency"] == pytest.approx(0.5, abs=1e-6)

    def test_no_shows_floor_the_attendance_at_zero(self):
        anna = contact()
        Attendance.objects.create(event=event_ending(10), contact=anna, status="attended")
        for days in (1, 2, 3):
            Attendance.objects.create(event=event_ending(days), contact=anna, status="no_show")
        score = score_of(anna)
        assert score.components["attendance"] == 0.0
        assert (score.no_shows, score.events_attended) == (3, 1)
        assert score.show_rate == 0.25

    @pytest.mark.parametrize(("nps", "advocacy"), [(9, 0.5), (7, 0.25), (6, 0.0), (None, 0.0)])
    def test_nps_9_vs_7_vs_none(self, nps, advocacy):
        anna = contact()
        event = event_ending(0)
        Feedback.objects.create(event=event, contact=anna, nps=3, submitted_at=T - timedelta(days=30))
        if nps is not None:
            Feedback.objects.create(event=event_ending(1, name="Later"), contact=anna, nps=nps, submitted_at=T)
        assert score_of(anna).components["advocacy"] == pytest.approx(advocacy, abs=1e-6)

    def test_referrals_saturate(self):
        anna = contact()
        for _ in range(2):
            Referral.objects.create(referrer=anna, referred_email="x@y.de", created_at=T)
        assert score_of(anna).components["advocacy"] == pytest.approx(0.5 * sat(2, 1), abs=1e-6)

    def test_networking_weighs_quality_and_duration_on_either_side(self):
        anna, ben = contact(), contact("ben@example.com")
        event = event_ending(0)
        Interaction.objects.create(event=event, contact=anna, counterpart=ben, occurred_at=T, quality=5, duration_minutes=90)
        Interaction.objects.create(event=event, contact=ben, counterpart=anna, occurred_at=T)  # unset: factors 1
        raw = (5 / 3) * (60 / 30) + 1.0
        assert score_of(anna).components["networking"] == pytest.approx(sat(raw, 4), abs=1e-6)

    def test_dialogue_weighs_outcomes(self):
        anna = contact()
        for outcome in ("positive", "neutral", "negative", "no_response", ""):
            FollowUp.objects.create(contact=anna, status="done", outcome=outcome, completed_at=T)
        FollowUp.objects.create(contact=anna, status="planned")  # not a conversation yet
        raw = 1.5 + 1.0 + 0.5 + 0.25 + 1.0
        assert score_of(anna).components["dialogue"] == pytest.approx(sat(raw, 3), abs=1e-6)

    def test_no_touchpoint_is_all_zero(self):
        score = score_of(contact())
        assert score.score == 0.0
        assert score.last_touch_at is None
        assert (score.stage, score.churn_risk) == ("initiation", "low")


class TestStagesAndChurn:
    def attend(self, person, *days_ago):
        for days in days_ago:
            Attendance.objects.create(event=event_ending(days, name=f"E{days}"), contact=person, status="attended")

    def test_initiation_without_an_attended_event(self):
        anna = contact()
        Attendance.objects.create(event=event_ending(1), contact=anna, status="registered")
        assert score_of(anna).stage == "initiation"

    def test_at_risk_after_270_days_without_touch(self):
        anna = contact()
        self.attend(anna, 271)
        assert score_of(anna).stage == "at_risk"

    def test_growth_and_maturity(self):
        anna, ben = contact(), contact("ben@example.com")
        self.attend(anna, 1, 2)
        assert score_of(anna).stage == "growth"
        self.attend(ben, 0, 1, 2, 3)
        for _ in range(3):
            FollowUp.objects.create(contact=ben, status="done", outcome="positive", completed_at=T)
        Feedback.objects.create(event=Event.objects.first(), contact=ben, nps=10, submitted_at=T)
        score = score_of(ben)
        assert score.score < 60  # 56.4: four events alone are not maturity
        assert score.stage == "growth"
        for _ in range(2):
            Interaction.objects.create(event=Event.objects.first(), contact=ben, kind="meeting", occurred_at=T,
                                       quality=5, duration_minutes=60)
        score = score_of(ben)
        assert score.score >= 60
        assert score.stage == "maturity"

    @pytest.mark.parametrize(("days", "risk"), [(100, "low"), (181, "medium"), (366, "high")])
    def test_churn_by_days_since_last_touch(self, days, risk):
        anna = contact()
        FollowUp.objects.create(contact=anna, status="done", completed_at=T - timedelta(days=days))
        assert score_of(anna).churn_risk == risk

    def test_churn_medium_when_the_score_fell_10_points_against_a_snapshot_90_days_older(self):
        anna = contact()
        self.attend(anna, 0)
        ScoreSnapshot.objects.create(contact=anna, score=40.0, components={}, stage="growth", trigger="nightly",
                                     computed_at=T - timedelta(days=91), profile_version=1)
        assert score_of(anna).churn_risk == "medium"  # 21.8 now, 40 then

    def test_a_recent_higher_snapshot_does_not_count(self):
        anna = contact()
        self.attend(anna, 0)
        ScoreSnapshot.objects.create(contact=anna, score=40.0, components={}, stage="growth", trigger="nightly",
                                     computed_at=T - timedelta(days=30), profile_version=1)
        assert score_of(anna).churn_risk == "low"


class TestRepeatAttendance:
    def test_streaks_across_editions_with_gaps(self):
        series = EventSeries.objects.create(name="Summit")
        editions = [event_ending(500 - 100 * i, series=series, name=f"Summit {i}") for i in range(5)]
        event_ending(10, series=series, status="planned", name="Summit next")  # not completed: no edition yet
        anna, ben = contact(), contact("ben@example.com")
        for index in (0, 1, 2, 4):  # a gap at edition 3
            Attendance.objects.create(event=editions[index], contact=anna, status="attended")
        for index in (1, 2):
            Attendance.objects.create(event=editions[index], contact=ben, status="attended")
        Attendance.objects.create(event=editions[3], contact=ben, status="no_show")

        anna_score, ben_score = score_of(anna), score_of(ben)

        assert (anna_score.current_streak, anna_score.longest_streak) == (1, 3)
        assert (ben_score.current_streak, ben_score.longest_streak) == (0, 2)
        assert anna_score.avg_days_between_attendances == pytest.approx((100 + 100 + 200) / 3)
        assert anna_score.series_attended == 1
        assert anna_score.is_returning
        assert ben_score.is_returning
        assert anna_score.first_attended_at == editions[0].starts_at
        assert anna_score.last_attended_at == editions[4].starts_at
        assert (ben_score.events_invited, ben_score.events_registered, ben_score.no_shows) == (3, 3, 1)

    def test_single_attendance_has_no_average_gap(self):
        anna = contact()
        Attendance.objects.create(event=event_ending(3), contact=anna, status="attended")
        assert score_of(anna).avg_days_between_attendances is None


class TestWorkedChecks:
    def test_crr_is_75_percent_for_s120_e150_n60(self):
        previous = set(range(120))
        current = set(range(30, 120)) | set(range(1000, 1060))  # 90 returning + 60 new = 150
        assert len(current) == 150
        assert series_retention_rate(previous, current) == 75.0

    def test_roi_is_900_percent(self):
        clv, retained, cost = Decimal(2500), 200, Decimal(50000)
        assert ror_percent(clv * retained, cost) == 900.0
        assert ror_percent(Decimal(100), None) is None

    def test_nps_is_promoters_minus_detractors(self):
        assert net_promoter_score([10, 9, 8, 7, 6, 0]) == pytest.approx((2 - 2) / 6 * 100)
        assert net_promoter_score([10, 10, 6, 8]) == 25.0
        assert net_promoter_score([]) is None
