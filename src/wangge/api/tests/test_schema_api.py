from django.core.management import call_command


def test_the_schema_endpoint_serves_openapi_3(db, client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/units/{code}/" in schema["paths"]
    assert "/api/v1/me/" in schema["paths"]


def test_the_schema_generates_without_warnings(tmp_path):
    """The same check as `wangge spectacular --validate --fail-on-warn`; it raises on any warning."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_the_docs_page_renders(db, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content
