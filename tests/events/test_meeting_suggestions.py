"""Meeting suggestions at an event (events.meeting_suggestions), one rule at a time."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.choices import FollowUpStatus
from contacts.models import Contact, FollowUp, Organization
from events.choices import AttendanceStatus, EventStatus
from events.exceptions import EventClosed
from events.meeting_suggestions import meeting_suggestions
from events.models import Attendance, Event, Interaction
from scoring.models import ContactScore

pytestmark = pytest.mark.django_db


@pytest.fixture
def event() -> Event:
    now = timezone.now()
    return Event.objects.create(name="Hamburg Summit 2026", starts_at=now + timedelta(days=30),
                                ends_at=now + timedelta(days=30, hours=8))


@pytest.fixture
def earlier_event() -> Event:
    now = timezone.now()
    return Event.objects.create(name="Hamburg Summit 2025", starts_at=now - timedelta(days=300),
                                ends_at=now - timedelta(days=300), status=EventStatus.COMPLETED,
                                completed_at=now - timedelta(days=299))


def organization(name: str, industry: str = "") -> Organization:
    return Organization.objects.create(name=name, industry=industry)


def attendee(event: Event, name: str, *, organization=None, tags=(), owner=None, score=None,
             status=AttendanceStatus.REGISTERED, **fields) -> Contact:
    contact = Contact.objects.create(email=f"{name.lower()}@example.com", first_name=name, last_name="Muster",
                                     organization=organization, tags=list(tags), owner=owner, **fields)
    if score is not None:
        ContactScore.objects.create(contact=contact, score=score, components={}, stage="growth", churn_risk="low",
                                    computed_at=timezone.now(), profile_version=1)
    Attendance.objects.create(event=event, contact=contact, status=status)
    return contact


def pairs(suggestions) -> set[tuple[int, int]]:
    return {(suggestion.contact_a, suggestion.contact_b) for suggestion in suggestions}


def pair(a: Contact, b: Contact) -> tuple[int, int]:
    return (min(a.pk, b.pk), max(a.pk, b.pk))


def test_same_industry_of_different_organizations_is_a_reason(event):
    anna = attendee(event, "Anna", organization=organization("Nordhafen", "Logistics"))
    jan = attendee(event, "Jan", organization=organization("Elbe Cargo", " logistics "))
    attendee(event, "Eva", organization=organization("Bank", "Finance"))
    attendee(event, "Otto", organization=organization("No industry"))
    attendee(event, "Ute", organization=organization("Also none"))  # two empty industries are no match

    [suggestion] = meeting_suggestions(event)

    assert (suggestion.contact_a, suggestion.contact_b) == pair(anna, jan)
    assert suggestion.reasons == ["same_industry"]
    assert suggestion.value == 2.0
    assert suggestion.reason == "Same industry (Logistics)"
    assert suggestion.attendee_a.name == "Anna Muster"
    assert suggestion.attendee_a.organization == "Nordhafen"
    assert suggestion.attendee_b.email == "jan@example.com"


def test_each_shared_tag_adds_to_the_value(event):
    anna = attendee(event, "Anna", tags=["AI", "cloud", "golf"])
    jan = attendee(event, "Jan", tags=["ai ", "Cloud"])
    eva = attendee(event, "Eva", tags=["golf"])

    suggestions = meeting_suggestions(event)

    assert [(s.contact_a, s.contact_b, s.value) for s in suggestions] == [
        (*pair(anna, jan), 2.0), (*pair(anna, eva), 1.0),
    ]
    assert suggestions[0].reasons == ["shared_tags"]
    assert suggestions[0].reason == "Shared tags: AI, cloud"
    assert suggestions[1].reason == "Shared tag: golf"


def test_a_pending_follow_up_of_one_sides_owner_with_the_other_is_a_reason(event, staff_user):
    anna = attendee(event, "Anna", owner=staff_user)
    jan = attendee(event, "Jan")
    eva = attendee(event, "Eva")
    FollowUp.objects.create(contact=jan, owner=staff_user, status=FollowUpStatus.PLANNED)
    FollowUp.objects.create(contact=eva, owner=staff_user, status=FollowUpStatus.DONE, completed_at=timezone.now())
    FollowUp.objects.create(contact=eva, owner=staff_user, status=FollowUpStatus.CANCELLED)

    [suggestion] = meeting_suggestions(event)

    assert (suggestion.contact_a, suggestion.contact_b) == pair(anna, jan)
    assert suggestion.reasons == ["followup_pending"]
    assert suggestion.value == 3.0
    assert suggestion.reason == "Anna Agency, owner of Anna Muster, has a follow-up planned with Jan Muster"


def test_the_owner_follow_up_pairs_other_owned_attendees_not_the_contact_with_itself(event, staff_user):
    anna = attendee(event, "Anna", owner=staff_user)
    jan = attendee(event, "Jan", owner=staff_user)
    FollowUp.objects.create(contact=jan, owner=staff_user, status=FollowUpStatus.PLANNED)

    assert pairs(meeting_suggestions(event)) == {pair(anna, jan)}


def test_both_high_score_adds_but_is_no_reason_on_its_own(event):
    anna = attendee(event, "Anna", score=60.0, tags=["ai"])
    jan = attendee(event, "Jan", score=85.0, tags=["ai"])
    attendee(event, "Eva", score=90.0)  # high score, nothing else in common with anyone
    otto = attendee(event, "Otto", score=59.9, tags=["ai"])

    suggestions = meeting_suggestions(event)

    assert [(s.contact_a, s.contact_b, s.value, s.reasons) for s in suggestions] == [
        (*pair(anna, jan), 2.0, ["shared_tags", "both_high_score"]),
        (*pair(jan, otto), 1.0, ["shared_tags"]),  # the higher sum of scores first among equals
        (*pair(anna, otto), 1.0, ["shared_tags"]),
    ]
    assert suggestions[0].reason == "Shared tag: ai; both have a relationship score of 60 or more"


def test_pairs_who_met_at_an_earlier_event_are_left_out(event, earlier_event):
    anna = attendee(event, "Anna", tags=["ai"])
    jan = attendee(event, "Jan", tags=["ai"])
    eva = attendee(event, "Eva", tags=["ai"])
    Interaction.objects.create(event=earlier_event, contact=jan, counterpart=anna, occurred_at=earlier_event.starts_at)
    Interaction.objects.create(event=earlier_event, contact=eva, counterpart=None, occurred_at=earlier_event.starts_at)

    assert pairs(meeting_suggestions(event)) == {pair(anna, eva), pair(jan, eva)}


def test_a_pending_follow_up_brings_back_a_pair_who_met(event, earlier_event, staff_user):
    anna = attendee(event, "Anna", tags=["ai"])
    jan = attendee(event, "Jan", tags=["ai"], owner=staff_user)
    Interaction.objects.create(event=earlier_event, contact=anna, counterpart=jan, occurred_at=earlier_event.starts_at)
    FollowUp.objects.create(contact=anna, owner=staff_user, status=FollowUpStatus.PLANNED)

    [suggestion] = meeting_suggestions(event)

    assert (suggestion.contact_a, suggestion.contact_b) == pair(anna, jan)
    assert suggestion.reasons == ["followup_pending", "shared_tags"]
    assert suggestion.value == 4.0


def test_do_not_contact_and_erased_contacts_never_appear(event, staff_user):
    logistics = organization("Nordhafen", "Logistics")
    anna = attendee(event, "Anna", tags=["ai"], owner=staff_user, organization=logistics)
    jan = attendee(event, "Jan", tags=["ai"])
    blocked = attendee(event, "Blocked", tags=["ai"], do_not_contact=True, organization=organization("B", "Logistics"))
    erased = attendee(event, "Erased", tags=["ai"], organization=organization("E", "Logistics"))
    Contact.objects.filter(pk=erased.pk).update(erased_at=timezone.now(), email=None, first_name="", last_name="")
    for contact in (blocked, erased):
        FollowUp.objects.create(contact=contact, owner=staff_user, status=FollowUpStatus.PLANNED)

    suggestions = meeting_suggestions(event)

    assert pairs(suggestions) == {pair(anna, jan)}
    assert {blocked.pk, erased.pk}.isdisjoint({s.contact_a for s in suggestions} | {s.contact_b for s in suggestions})


def test_colleagues_are_never_paired(event, staff_user):
    nordhafen = organization("Nordhafen", "Logistics")
    anna = attendee(event, "Anna", organization=nordhafen, tags=["ai"], owner=staff_user)
    attendee(event, "Jan", organization=nordhafen, tags=["ai"])
    eva = attendee(event, "Eva", organization=organization("Elbe Cargo", "Logistics"))
    FollowUp.objects.create(contact=Contact.objects.get(first_name="Jan"), owner=staff_user,
                            status=FollowUpStatus.PLANNED)

    suggestions = meeting_suggestions(event)

    # Anna and Jan share industry, a tag and a follow-up, and work together: not a pair.
    assert pairs(suggestions) == {pair(anna, eva), pair(Contact.objects.get(first_name="Jan"), eva)}


def test_only_registered_and_attended_people_are_candidates(event):
    people = {
        status: attendee(event, status.label.replace("-", ""), tags=["ai"], status=status)
        for status in AttendanceStatus
    }

    suggestions = meeting_suggestions(event)

    assert pairs(suggestions) == {pair(people[AttendanceStatus.REGISTERED], people[AttendanceStatus.ATTENDED])}


def test_at_most_n_per_attendee_on_both_sides(event):
    people = [attendee(event, f"P{i}", tags=["ai", "cloud"] if i < 4 else ["ai"], score=50 + i) for i in range(12)]

    suggestions = meeting_suggestions(event, per_attendee=3)

    named = Counter([s.contact_a for s in suggestions] + [s.contact_b for s in suggestions])
    assert max(named.values()) == 3
    assert set(named) == {person.pk for person in people}
    values = [s.value for s in suggestions]
    assert values == sorted(values, reverse=True)
    assert values[0] == 2.0  # the four who share two tags meet each other first
    assert len(pairs(suggestions)) == len(suggestions)


def test_the_setting_gives_the_default(event, settings):
    settings.MEETING_SUGGESTIONS_PER_ATTENDEE = 1
    for i in range(4):
        attendee(event, f"P{i}", tags=["ai"])

    suggestions = meeting_suggestions(event)

    assert len(suggestions) == 2
    assert Counter([s.contact_a for s in suggestions] + [s.contact_b for s in suggestions]).most_common(1)[0][1] == 1


def test_the_same_data_gives_the_same_suggestions(event):
    for i in range(30):
        attendee(event, f"P{i}", tags=[f"t{i % 3}", f"u{i % 4}"], score=40 + i % 5,
                 organization=organization(f"Org {i}", ["Logistics", "Finance"][i % 2]))

    first = meeting_suggestions(event, per_attendee=2)

    assert meeting_suggestions(event, per_attendee=2) == first
    # ties: equal value, then the higher sum of scores, then the lower ids
    keys = [(-s.value, s.contact_a, s.contact_b) for s in first]
    assert len(set(keys)) == len(keys)


def test_a_live_event_gets_suggestions_a_completed_or_cancelled_one_an_error(event):
    attendee(event, "Anna", tags=["ai"])
    attendee(event, "Jan", tags=["ai"], status=AttendanceStatus.ATTENDED)
    event.status = EventStatus.LIVE
    assert len(meeting_suggestions(event)) == 1

    for status in (EventStatus.COMPLETED, EventStatus.CANCELLED):
        event.status = status
        with pytest.raises(EventClosed) as refused:
            meeting_suggestions(event)
        assert refused.value.code == "event_closed"
        assert status in refused.value.message


def test_three_queries_whatever_the_number_of_attendees(event, django_assert_num_queries, staff_user, earlier_event):
    def grow(count: int, offset: int) -> None:
        for i in range(offset, offset + count):
            contact = attendee(event, f"P{i}", tags=["ai"], owner=staff_user if i % 3 == 0 else None, score=i,
                               organization=organization(f"Org {i}", "Logistics"))
            FollowUp.objects.create(contact=contact, owner=staff_user, status=FollowUpStatus.PLANNED)
            Interaction.objects.create(event=earlier_event, contact=contact, occurred_at=earlier_event.starts_at,
                                       counterpart=Contact.objects.filter(first_name=f"P{i - 1}").first())

    grow(3, 0)
    # the attendees (with organization, owner and score); who of them met; their planned follow-ups
    with django_assert_num_queries(3):
        assert meeting_suggestions(event)
    grow(40, 3)
    with django_assert_num_queries(3):
        assert len(meeting_suggestions(event)) > 40
