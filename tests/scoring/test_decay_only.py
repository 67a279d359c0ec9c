"""History grows with events, not days: decay alone is arithmetic on the stored sums, writes no
snapshot and moves no updated_at; a change of data, profile, stage or churn risk does."""

from dataclasses import asdict
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contacts.models import Contact
from events.models import Interaction
from scoring.models import ContactScore, ScoreSnapshot
from scoring.services import compute_scores, recompute_contacts
from scoring.services.contact_scores import DECAYING_SUMS, decayed_score, load_chunk
from tests.scoring.test_properties import PARAMS, T, build_agency


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), contacts=st.integers(1, 15), days=st.floats(0, 2000))
@example(seed=173, contacts=5, days=30.0)  # feedback a day after an event that ended hours before T
def test_decaying_the_stored_sums_equals_a_full_computation_on_unchanged_data(seed, contacts, days):
    later = T + timedelta(days=days)
    with transaction.atomic():
        contact_ids = build_agency(seed, contacts)  # every touchpoint by T
        then = {result.contact_id: result for result in compute_scores(contact_ids, T, PARAMS)}
        full = load_chunk(contact_ids, later, PARAMS)
        for result in compute_scores(contact_ids, later, PARAMS):
            arithmetic = decayed_score(then[result.contact_id], later, PARAMS)
            for name in DECAYING_SUMS:
                assert getattr(arithmetic, name) == pytest.approx(getattr(full[result.contact_id], name), rel=1e-9, abs=1e-12)
            # compared above and below; the churn reference is not what decayed_score() knows
            approximate = dict.fromkeys(["components", "churn_reference_until", *DECAYING_SUMS])
            assert asdict(arithmetic) | approximate == asdict(result) | approximate
            assert arithmetic.components == pytest.approx(result.components, abs=2e-6)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_nightly_run_over_unchanged_data_writes_no_history_and_moves_no_updated_at():
    contact_ids = build_agency(seed=11, contacts=40)
    recompute_contacts(contact_ids, as_of=T, params=PARAMS)
    stored = {row.contact_id: row for row in ContactScore.objects.all()}
    snapshots = ScoreSnapshot.objects.count()

    result = recompute_contacts(contact_ids, as_of=T + timedelta(days=1), params=PARAMS)

    after = {row.contact_id: row for row in ContactScore.objects.all()}
    moved = {pk for pk, row in after.items() if row.updated_at != stored[pk].updated_at}
    stage_or_churn = {
        pk for pk, row in after.items() if (row.stage, row.churn_risk) != (stored[pk].stage, stored[pk].churn_risk)
    }
    assert moved == stage_or_churn  # a day of decay: only stage and churn changes are news
    assert ScoreSnapshot.objects.count() - snapshots == len(stage_or_churn) == result["changed"]
    assert sum(row.score != stored[pk].score for pk, row in after.items()) > len(stage_or_churn)  # decay moved scores
    assert all(row.computed_at == T + timedelta(days=1) for row in after.values())


@pytest.mark.django_db
def test_new_data_moves_updated_at_and_writes_a_snapshot():
    contact_ids = build_agency(seed=12, contacts=10)
    recompute_contacts(contact_ids, as_of=T, params=PARAMS)
    person = Contact.objects.get(pk=contact_ids[0])
    before = ContactScore.objects.get(contact=person)
    Interaction.objects.create(event=Interaction.objects.first().event, contact=person, kind="meeting",
                               occurred_at=T + timedelta(hours=1), quality=5)

    recompute_contacts(contact_ids, as_of=T + timedelta(days=1), params=PARAMS)

    after = ContactScore.objects.get(contact=person)
    assert after.updated_at > before.updated_at
    assert after.networking_raw > before.networking_raw
    assert ScoreSnapshot.objects.filter(contact=person, computed_at=T + timedelta(days=1)).exists()



@pytest.mark.django_db
def test_a_first_stored_score_clears_never_scored_and_leaves_the_contact_as_it_was():
    contact_ids = build_agency(seed=13, contacts=5)
    updated = dict(Contact.objects.values_list("pk", "updated_at"))
    assert not ContactScore.objects.exists()
    assert set(Contact.objects.values_list("never_scored", flat=True)) == {True}

    recompute_contacts(contact_ids[:3], as_of=T, params=PARAMS)
    recompute_contacts(contact_ids[:3], as_of=T + timedelta(days=1), params=PARAMS)  # scored again: stays cleared

    assert set(Contact.objects.filter(never_scored=True).values_list("pk", flat=True)) == set(contact_ids[3:])
    assert dict(Contact.objects.values_list("pk", "updated_at")) == updated  # bookkeeping, not an edit


@pytest.mark.django_db
def test_the_migration_clears_never_scored_of_the_contacts_with_a_score(monkeypatch):
    from importlib import import_module

    from django.apps import apps

    backfill = import_module("contacts.migrations.0011_contact_never_scored_backfill")
    monkeypatch.setattr(backfill, "BATCH", 2)  # several batches
    contact_ids = build_agency(seed=14, contacts=5)
    recompute_contacts(contact_ids[1:4], as_of=T, params=PARAMS)
    Contact.objects.update(never_scored=True)  # as the column comes in

    backfill.mark_scored(apps, None)

    assert set(Contact.objects.filter(never_scored=True).values_list("pk", flat=True)) == {
        contact_ids[0], contact_ids[4]}
