"""The score validity page: who sees it, what it says when the score loses or data is missing.

Personas (staff_user: Agency staff, sales_user: Sales) come from tests/admin/conftest.py; the
histories, with their figures worked out by hand, from tests/scoring/validity_history.py.
"""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse

from tests.scoring.validity_history import score_loses, six_contacts

pytestmark = pytest.mark.django_db

URL = "/admin/ror/score-validity/"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def test_staff_see_the_aucs_beside_the_baselines(staff_client):
    six_contacts()

    page = staff_client.get(URL).content.decode()

    assert "<h1>Score validity</h1>" in page
    assert 'id="ror-validity-auc"' in page
    # Hamburg Summit: score 6/9, days since last attendance 6/9, editions attended ½.
    assert page.count(">0.667<") >= 2
    assert ">0.500<" in page
    assert 'id="ror-validity-components"' in page
    assert page.count("data-decile=") == 6  # six pairs: six groups of one
    assert 'id="ror-validity-honesty"' not in page  # a tie is no defeat


def test_the_page_says_when_the_score_loses_to_a_baseline(staff_client):
    score_loses()

    page = staff_client.get(URL).content.decode()

    assert 'id="ror-validity-honesty"' in page
    assert ("Partner Dinner: the score predicts a return less well than the baseline "
            "“Days since last attendance” (AUC 0.000 against 1.000).") in page
    assert "We show this as it is" in page


def test_without_data_it_says_so(staff_client):
    page = staff_client.get(URL).content.decode()
    assert 'id="ror-validity-empty"' in page
    assert "Not enough data yet" in page
    assert 'id="ror-validity-auc"' not in page


def test_the_series_filter_narrows_the_report(staff_client):
    summit = six_contacts().series
    score_loses()

    page = staff_client.get(URL, {"series": summit.pk}).content.decode()

    assert "Hamburg Summit" in page
    assert "Partner Dinner</td>" not in page
    assert 'id="ror-validity-honesty"' not in page
    assert staff_client.get(URL, {"series": "nonsense"}).status_code == 200  # falls back to all series


def test_sales_may_read_it_and_the_admin_index_links_it(sales_client):
    assert sales_client.get(URL).status_code == 200
    index = sales_client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in index
    dashboard = sales_client.get(reverse("ror-dashboard")).content.decode()
    assert 'id="ror-score-validity-link"' in dashboard


def test_staff_without_the_permission_are_refused_and_others_sent_to_log_in(client):
    staff = User.objects.create_user("plain", "plain@agency.example", "pw", is_staff=True)
    client.force_login(staff)
    assert client.get(URL).status_code == 403
    assert f'href="{URL}"' not in client.get(reverse("admin:index")).content.decode()

    staff.is_staff = False
    staff.save()
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_page_speaks_german(staff_client, settings):
    score_loses()
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    page = staff_client.get(URL).content.decode()
    assert "Aussagekraft des Scores" in page
    assert "0,000" in page  # German decimal comma
    assert "Partner Dinner: Der Score sagt eine Rückkehr schlechter voraus" in page


def test_a_cached_report_costs_one_query_however_many_series(staff_client, django_assert_num_queries):
    six_contacts()
    for grow in (lambda: None, score_loses):
        grow()
        staff_client.get(URL)  # computes and caches
        # session, user, its user and group permissions, the series for the form, the data version
        with django_assert_num_queries(6):
            staff_client.get(URL)
