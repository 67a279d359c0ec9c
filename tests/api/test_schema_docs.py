"""The partner API docs: every operation says what it does, its filters, errors and an example,
under its resource's tag; /api/v1/ lists the resources."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def operations(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(method.upper(), path, operation) for path, methods in schema["paths"].items()
            for method, operation in methods.items()]


def test_every_operation_has_a_summary_and_a_description_for_partners(operations):
    assert len(operations) > 60
    for method, path, operation in operations:
        assert operation.get("summary"), (method, path)
        description = operation.get("description", "")
        assert len(description) > 40, (method, path)
        assert "ModelViewSet" not in description, (method, path)
        assert "service" not in description.lower(), (method, path)


def test_lists_name_their_filters_and_every_standard_operation_an_example(operations):
    by_key = {(method, path): operation for method, path, operation in operations}
    contacts = by_key[("GET", "/api/v1/contacts/")]["description"]
    for mentioned in ("`stage`", "`score_min`", "ordering (by"):
        assert mentioned in contacts
    for (method, path), operation in by_key.items():
        if path.count("/") <= 5 and path != "/api/v1/":  # the resources' own operations
            assert "Example: `" + method in operation["description"], (method, path)


def test_id_filters_are_documented_as_whole_numbers_in_range(operations):
    ids = [(path, parameter) for _, path, operation in operations for parameter in operation.get("parameters", [])
           if parameter["in"] == "query" and parameter["name"] in ("contact", "event", "owner", "series", "organization")]
    assert len(ids) > 10
    for path, parameter in ids:
        schema = parameter["schema"]
        assert (schema["type"], schema["maximum"]) == ("integer", 2**63 - 1), path
        assert schema["minimum"] in (0, 1), path  # 0 where a filter takes it (nothing matches), 1 where refused


def test_every_page_size_is_documented_as_the_server_takes_it(operations):
    """1 at least (0 or less is a 400); larger than 500 is read as 500, so no maximum."""
    sizes = [(path, parameter) for _, path, operation in operations for parameter in operation.get("parameters", [])
             if parameter["name"] == "page_size"]
    assert len(sizes) > 10
    for path, parameter in sizes:
        assert parameter["schema"] == {"type": "integer", "minimum": 1}, path


def test_operations_are_tagged_by_resource(operations):
    tags = {operation["tags"][0] for _, path, operation in operations if path != "/api/v1/"}
    assert {"contacts", "events", "attendances", "follow-ups", "scores", "reports"} <= tags
    for _, path, operation in operations:
        if path != "/api/v1/":
            assert path.startswith(f"/api/v1/{operation['tags'][0]}/")


def test_the_api_root_lists_the_resources(read_client, api_client):
    response = read_client.get("/api/v1/")

    assert response.status_code == 200
    assert response.json()["contacts"].endswith("/api/v1/contacts/")
    assert read_client.get(response.json()["events"]).status_code == 200
    for report in ("score-validity", "cohorts", "follow-up-performance"):
        assert response.json()[f"reports/{report}"].endswith(f"/api/v1/reports/{report}/")
    assert read_client.get(response.json()["follow-ups/missed"]).status_code == 200
    assert api_client.get("/api/v1/").status_code == 401


def test_no_ordering_parameter_where_a_list_has_one_order_and_429_names_retry_after():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    with_ordering = {
        path for path, operations in schema["paths"].items()
        if any(parameter["name"] == "ordering" for parameter in operations.get("get", {}).get("parameters", []))
    }
    assert with_ordering == {"/api/v1/contacts/", "/api/v1/scores/"}
    throttled = schema["paths"]["/api/v1/events/"]["get"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]
    assert "Idempotency-Key" in schema["info"]["description"]


def test_an_international_e_mail_domain_is_taken_and_documented_so(write_client):
    from drf_spectacular.generators import SchemaGenerator

    created = write_client.post("/api/v1/contacts/", {"email": "Anna@Müller.example"}, format="json")
    assert created.status_code == 201, created.json()
    assert write_client.get(f"/api/v1/contacts/{created.json()['id']}/").json()["email"] == "anna@müller.example"
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["components"]["schemas"]["Contact"]["properties"]["email"]["format"] == "idn-email"
    assert '"format": "email"' not in str(schema).replace("'", '"')


def test_a_check_in_is_documented_to_name_its_people_one_way(write_client):
    from drf_spectacular.generators import SchemaGenerator

    from events.models import Event

    full = SchemaGenerator().get_schema(request=None, public=True)
    schema = full["components"]["schemas"]["CheckInRequest"]
    assert schema["oneOf"] == [{"required": ["emails"], "not": {"required": ["source"]}}, {"required": ["external_ids"]}]
    assert full["paths"]["/api/v1/events/{id}/check-ins/"]["post"]["requestBody"]["required"] is True
    event = Event.objects.create(name="Summit", starts_at="2025-01-01T10:00:00Z", ends_at="2025-01-01T18:00:00Z")
    for body in ({}, {"emails": ["a@example.com"], "external_ids": ["T-1"]},  # neither and both: what oneOf refuses
                 {"emails": ["a@example.com"], "source": "tix"}):
        assert write_client.post(f"/api/v1/events/{event.pk}/check-ins/", body, format="json").status_code == 400
    assert write_client.post(f"/api/v1/events/{event.pk}/check-ins/", {"emails": ["a@example.com"]},
                             format="json").status_code == 200


def test_every_updated_since_says_how_to_sync_with_it(operations):
    described = [parameter.get("description", "") for _, _, operation in operations
                 for parameter in operation.get("parameters", []) if parameter["name"] == "updated_since"]
    assert len(described) >= 10
    assert all("the time this one started minus a few minutes" in text for text in described), described


def test_every_write_documents_the_415_it_gives_a_body_that_is_not_json(operations, write_client):
    writes = [(method, path, operation) for method, path, operation in operations if method in ("POST", "PUT", "PATCH")]
    assert writes
    for method, path, operation in writes:
        assert "415" in operation["responses"], (method, path)
    response = write_client.post("/api/v1/contacts/", "email=a@example.com", content_type="text/plain")
    assert (response.status_code, list(response.json())) == (415, ["detail"])
