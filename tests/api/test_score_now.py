"""`score_now`: the stored score decayed to the moment of the response (docs/scoring.md)."""


import pytest
from django.utils import timezone

from scoring.models import ContactScore
from scoring.services import compute_scores, recompute_contacts
from tests.scoring.test_properties import PARAMS, T, build_agency


@pytest.mark.django_db
def test_the_api_gives_the_score_decayed_to_now(read_client):
    contact_ids = build_agency(seed=13, contacts=5)
    recompute_contacts(contact_ids, as_of=T, params=PARAMS)  # T lies in the past: decay since
    stored = ContactScore.objects.filter(score__gt=5).first()

    row = read_client.get(f"/api/v1/contacts/{stored.contact_id}/score/").json()

    assert row["score"] == stored.score
    assert row["score_now"] < stored.score
    [now] = compute_scores([stored.contact_id], timezone.now(), PARAMS)
    assert row["score_now"] == pytest.approx(now.score, abs=0.1)  # the full computation, seconds later
