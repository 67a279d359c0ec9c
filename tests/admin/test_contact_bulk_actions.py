"""The contact list's bulk actions (assign owner, plan a follow-up, add/remove tags) and the
team worklist: values asked on a page of their own, applied in a fixed number of queries, with
history, and erased or do-not-contact contacts left out with a message saying so."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.choices import FollowUpChannel, FollowUpStatus
from contacts.models import Contact, FollowUp
from contacts.services import erase_contact

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/contacts/contact/"
WORKLIST = "/admin/ror/worklist/"


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def post_action(client, action: str, contacts, **values):
    data = {"action": action, "_selected_action": [str(contact.pk) for contact in contacts], **values}
    return client.post(CHANGELIST, data, follow=True)


@pytest.fixture
def people(sales_user):
    carla = Contact.objects.create(email="carla@client.example", first_name="Carla", tags=["vip", "berlin"])
    dirk = Contact.objects.create(email="dirk@client.example", first_name="Dirk", owner=sales_user)
    ingo = Contact.objects.create(email="ingo@client.example", first_name="Ingo", do_not_contact=True)
    gone = erase_contact(Contact.objects.create(email="gone@client.example", first_name="Gone"))
    return {"carla": carla, "dirk": dirk, "ingo": ingo, "gone": gone}


class TestAssignOwner:
    def test_asks_for_the_owner_first_and_changes_nothing(self, staff_client, people):
        response = post_action(staff_client, "assign_owner", [people["carla"], people["dirk"]])
        assert response.status_code == 200
        assert response.templates[0].name == "admin/contacts/contact/bulk_action.html"
        page = response.content.decode()
        assert 'name="apply"' in page
        assert 'name="_selected_action"' in page
        assert "admin/css/forms.css" in page  # laid out as the admin's other forms
        assert "Carla" in page
        assert Contact.objects.filter(owner__isnull=False).count() == 1

    def test_sets_the_owner_with_history_and_leaves_erased_contacts_out(self, staff_client, staff_user, people):
        selection = [people["carla"], people["dirk"], people["gone"]]
        response = post_action(staff_client, "assign_owner", selection, apply="yes", owner=staff_user.pk)
        assert Contact.objects.get(pk=people["carla"].pk).owner == staff_user
        assert Contact.objects.get(pk=people["dirk"].pk).owner == staff_user
        assert Contact.objects.get(pk=people["gone"].pk).owner is None
        history = Contact.history.filter(id=people["carla"].pk).latest("history_date")
        assert history.owner_id == staff_user.pk
        assert history.history_user == staff_user
        [(level, text)] = messages_of(response)
        assert level == "success"
        assert "Owner set for 2 contacts." in text
        assert "1 erased contact was left out." in text

    def test_removing_the_owner_is_said_explicitly(self, staff_client, people, staff_user):
        Contact.objects.filter(pk=people["dirk"].pk).update(owner=staff_user)
        for unclear in ({"owner": ""}, {"owner": staff_user.pk, "remove": "on"}):
            response = post_action(staff_client, "assign_owner", [people["dirk"]], apply="yes", **unclear)
            assert response.status_code == 200  # the form again, with its error
            assert "Choose an owner, or tick" in response.content.decode()
            assert Contact.objects.get(pk=people["dirk"].pk).owner == staff_user

        response = post_action(staff_client, "assign_owner", [people["dirk"]], apply="yes", owner="", remove="on")
        assert Contact.objects.get(pk=people["dirk"].pk).owner is None
        assert ("success", "Owner removed from 1 contact.") in messages_of(response)

    def test_an_unknown_owner_is_a_field_error(self, staff_client, people):
        response = post_action(staff_client, "assign_owner", [people["carla"]], apply="yes", owner="999999")
        assert response.status_code == 200
        assert response.context["form"].errors["owner"]
        assert Contact.objects.get(pk=people["carla"].pk).owner is None

    def test_select_all_applies_to_the_filtered_list(self, staff_client, staff_user, people):
        url = f"{CHANGELIST}?do_not_contact__exact=1"
        staff_client.post(url, {"action": "assign_owner", "select_across": "1", "index": "0",
                                "_selected_action": [str(people["ingo"].pk)], "apply": "yes", "owner": staff_user.pk})
        assert list(Contact.objects.filter(owner=staff_user).values_list("email", flat=True)) == ["ingo@client.example"]

    def test_a_fixed_number_of_queries_whatever_the_selection(self, staff_user, django_assert_max_num_queries):
        for size in (3, 30):
            contacts = Contact.objects.bulk_create(
                Contact(email=f"bulk{size}-{index}@client.example") for index in range(size))
            with django_assert_max_num_queries(6):
                result = services.assign_owner(Contact.objects.filter(pk__in=[c.pk for c in contacts]), staff_user)
            assert result.changed == size


class TestPlanFollowUps:
    def test_plans_one_per_contact_for_its_owner_or_the_user(self, staff_client, staff_user, sales_user, people):
        due_on = timezone.localdate() + timedelta(days=3)
        response = post_action(
            staff_client, "plan_follow_ups", [people["carla"], people["dirk"], people["ingo"], people["gone"]],
            apply="yes", due_on=due_on.isoformat(), channel=FollowUpChannel.PHONE, summary="Invite to the summit",
            owner="", event="", skip_planned="on",
        )
        planned = {f.contact.email: f for f in FollowUp.objects.select_related("contact")}
        assert set(planned) == {"carla@client.example", "dirk@client.example"}
        assert planned["dirk@client.example"].owner == sales_user  # the contact's owner
        assert planned["carla@client.example"].owner == staff_user  # no owner: the one who planned it
        follow_up = planned["carla@client.example"]
        assert follow_up.status == FollowUpStatus.PLANNED
        assert follow_up.summary == "Invite to the summit"
        assert timezone.localtime(follow_up.due_at).date() == due_on
        assert timezone.localtime(follow_up.due_at).hour == 9
        assert FollowUp.history.filter(id=follow_up.pk, history_type="+").exists()
        [(level, text)] = messages_of(response)
        assert level == "success"
        assert "Planned 2 follow-ups." in text
        assert "1 contact marked do-not-contact was left out." in text
        assert "1 erased contact" in text

    def test_contacts_with_a_planned_follow_up_are_skipped_unless_asked(self, staff_client, people, sales_user):
        FollowUp.objects.create(contact=people["dirk"], owner=sales_user, due_at=timezone.now())
        values = {"apply": "yes", "due_on": timezone.localdate().isoformat(), "channel": FollowUpChannel.EMAIL}
        response = post_action(staff_client, "plan_follow_ups", [people["dirk"]], skip_planned="on", **values)
        assert FollowUp.objects.filter(contact=people["dirk"]).count() == 1
        [(level, text)] = messages_of(response)
        assert level == "warning"
        assert "1 contact already had a planned follow-up." in text
        post_action(staff_client, "plan_follow_ups", [people["dirk"]], **values)
        assert FollowUp.objects.filter(contact=people["dirk"]).count() == 2

    def test_a_date_in_the_past_is_refused(self, staff_client, people):
        response = post_action(staff_client, "plan_follow_ups", [people["carla"]], apply="yes",
                               due_on=(timezone.localdate() - timedelta(days=1)).isoformat(), channel="email")
        assert "due_on" in response.context["form"].errors
        assert not FollowUp.objects.exists()

    def test_sales_may_plan_follow_ups(self, sales_client, people):
        post_action(sales_client, "plan_follow_ups", [people["carla"]], apply="yes",
                    due_on=timezone.localdate().isoformat(), channel="email")
        assert FollowUp.objects.filter(contact=people["carla"]).exists()

    def test_a_fixed_number_of_queries_whatever_the_selection(self, staff_user, django_assert_max_num_queries):
        due_at = timezone.now() + timedelta(days=1)
        for size in (3, 30):
            contacts = Contact.objects.bulk_create(
                Contact(email=f"plan{size}-{index}@client.example") for index in range(size))
            # +3: the contacts' recompute request (their next best action), written with them
            with django_assert_max_num_queries(13):
                result = services.plan_follow_ups(Contact.objects.filter(pk__in=[c.pk for c in contacts]),
                                                  owner=staff_user, due_at=due_at, channel="email")
            assert result.changed == size


class TestChangeTags:
    def test_adds_and_removes_keeping_the_others_in_order(self, staff_client, people):
        response = post_action(staff_client, "change_tags", [people["carla"], people["dirk"]], apply="yes",
                               add="press, vip", remove="berlin")
        assert Contact.objects.get(pk=people["carla"].pk).tags == ["vip", "press"]
        assert Contact.objects.get(pk=people["dirk"].pk).tags == ["press", "vip"]
        [(level, text)] = messages_of(response)
        assert level == "success"
        assert "Tags changed on 2 contacts." in text

    def test_nothing_named_or_the_same_tag_both_ways_is_an_error(self, staff_client, people):
        response = post_action(staff_client, "change_tags", [people["carla"]], apply="yes", add="", remove="")
        assert response.context["form"].non_field_errors()
        response = post_action(staff_client, "change_tags", [people["carla"]], apply="yes", add="vip", remove="vip")
        assert "vip" in str(response.context["form"].non_field_errors())
        assert Contact.objects.get(pk=people["carla"].pk).tags == ["vip", "berlin"]

    def test_a_too_long_tag_is_a_field_error(self, staff_client, people):
        response = post_action(staff_client, "change_tags", [people["carla"]], apply="yes", add="x" * 51)
        assert response.context["form"].errors["add"]

    def test_unchanged_contacts_are_not_written(self, staff_user, people):
        before = Contact.history.count()
        result = services.change_tags(Contact.objects.filter(pk=people["carla"].pk), add=["vip"], by=staff_user)
        assert result.changed == 0
        assert Contact.history.count() == before


class TestPermissions:
    def test_a_user_without_change_permission_sees_no_bulk_actions(self, client, django_user_model, people):
        from django.contrib.auth.models import Permission

        viewer = django_user_model.objects.create_user("viewer", password="pw-viewer-123", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_contact"))
        client.force_login(viewer)
        action_form = client.get(CHANGELIST).context["action_form"]
        actions = [name for name, _label in action_form.fields["action"].choices] if action_form else []
        assert not {"assign_owner", "plan_follow_ups", "change_tags"} & set(actions)
        post_action(client, "assign_owner", [people["carla"]], apply="yes", owner=viewer.pk)
        assert Contact.objects.get(pk=people["carla"].pk).owner is None


class TestTeamWorklist:
    @pytest.fixture
    def team(self, sales_user, staff_user, people):
        now = timezone.now()
        FollowUp.objects.create(contact=people["dirk"], owner=sales_user, due_at=now - timedelta(days=1))
        FollowUp.objects.create(contact=people["carla"], owner=staff_user, due_at=now - timedelta(days=2))
        FollowUp.objects.create(contact=people["carla"], owner=None, due_at=now - timedelta(hours=3))

    def test_agency_staff_see_every_owner_with_a_table_by_owner(self, staff_client, staff_user, sales_user, team):
        response = staff_client.get(WORKLIST, {"owner": "team", "view": "follow_ups"})
        worklist = response.context["worklist"]
        assert len(worklist.overdue) == 3
        loads = {load.owner: load.overdue for load in worklist.team}
        assert loads == {staff_user: 1, sales_user: 1, None: 1}
        page = response.content.decode()
        assert 'id="worklist-team"' in page
        assert f'?owner={sales_user.pk}">sven<' in page
        # Another owner's follow-up is opened in the admin, not marked done as one's own.
        assert page.count('name="done"') == 1

    def test_filter_by_owner(self, staff_client, sales_user, team):
        response = staff_client.get(WORKLIST, {"owner": sales_user.pk, "view": "follow_ups"})
        assert [f.contact.email for f in response.context["worklist"].overdue] == ["dirk@client.example"]
        assert "sven" in response.context["title"]

    @pytest.mark.parametrize("staff_owns", [False, True])
    @pytest.mark.parametrize(("query", "selected"), [({}, "mine"), ({"owner": "team"}, "team"), ({"owner": "sales"}, "sales"),
                                                     ({"owner": "idle"}, "idle")])
    def test_the_owner_choice_shows_whose_list_it_is(self, staff_client, staff_user, sales_user, django_user_model, team,
                                                     staff_owns, query, selected):
        # Owning nothing, staff_user opens on the team's list (their own would be empty) and may still
        # choose "Only mine", which must not read as "All owners"; owning something, they are in the
        # team's list and still offered once.
        if not query and not staff_owns:
            selected = "team"
        if not staff_owns:
            Contact.objects.filter(owner=staff_user).update(owner=None)
            FollowUp.objects.filter(owner=staff_user).update(owner=sales_user)
        idle = django_user_model.objects.create_user("idle", "idle@agency.example", "pw-12345-x", is_staff=True)
        values = {"mine": str(staff_user.pk), "team": "team", "sales": str(sales_user.pk), "idle": str(idle.pk)}
        owner = {"owner": values[query["owner"]]} if query else {}

        page = staff_client.get(WORKLIST, owner).content.decode()

        choice = re.search(r'<select id="worklist-owner".*?</select>', page, re.DOTALL).group()
        assert re.findall(r'<option value="([^"]+)" selected>', choice) == [values[selected]]
        assert choice.count(f'<option value="{staff_user.pk}"') == 1
        assert f'<option value="{staff_user.pk}"{" selected" if selected == "mine" else ""}>Only mine</option>' in choice

    def test_a_refused_page_says_so_in_the_admin_with_a_way_back(self, sales_client, team):
        response = sales_client.get(WORKLIST, {"owner": "team"})

        assert response.status_code == 403
        page = response.content.decode()
        assert "<title>No access | RoR CRM</title>" in page
        assert "Your account may not open this page." in page
        assert f'<a href="{reverse("admin:index")}">Back to the start page</a>' in page

    def test_sales_see_only_their_own(self, sales_client, team):
        assert sales_client.get(WORKLIST, {"owner": "team"}).status_code == 403
        page = sales_client.get(WORKLIST, {"view": "follow_ups"}).content.decode()
        assert "worklist-owner" not in page

    def test_the_team_page_runs_a_fixed_number_of_queries(self, staff_client, sales_user, team,
                                                          django_assert_max_num_queries):
        staff_client.get(WORKLIST, {"owner": "team", "view": "follow_ups"})
        with django_assert_max_num_queries(13) as first:
            staff_client.get(WORKLIST, {"owner": "team", "view": "follow_ups"})
        for index in range(10):
            contact = Contact.objects.create(email=f"more{index}@client.example", owner=sales_user)
            FollowUp.objects.create(contact=contact, owner=sales_user, due_at=timezone.now() - timedelta(hours=1))
        with django_assert_max_num_queries(len(first.captured_queries)):
            response = staff_client.get(WORKLIST, {"owner": "team", "view": "follow_ups"})
        assert len(response.context["worklist"].overdue) == 13
