import re
from urllib.parse import urlsplit

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


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_the_docs_page_renders(db, client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b'spec-url="/api/schema/"' in response.content


def test_the_docs_page_calls_no_third_party_for_fonts(db, client):
    assert b"fonts.googleapis.com" not in client.get("/api/docs/").content


def test_the_docs_pages_policy_lets_redoc_load_style_and_search(db, client):
    response = client.get("/api/docs/")
    directives = csp_directives(response)
    script = re.search(r'<script src="([^"]+)"', response.content.decode()).group(1)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(script))
    assert script.startswith("/") or origin in directives["script-src"]
    assert "'unsafe-inline'" in directives["style-src"]
    assert "blob:" in directives["worker-src"]


def test_other_pages_keep_the_strict_policy(db, client):
    directives = csp_directives(client.get("/api/schema/"))
    assert directives["style-src"] == ["'self'"]
    assert "worker-src" not in directives
