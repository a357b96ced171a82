"""Health and offline API documentation (both engines)."""

from __future__ import annotations

import re


def test_health_reports_the_engine(client, engine_name):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == engine_name
    assert body["divisions"] > 3000
    assert body["warm"] is None  # this server does not warm up at start (see test_coverage)


def test_api_docs_load_only_from_us(client):
    page = client.get("/schema")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert urls, "the page loads its assets"
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), f"external asset {url}"
        if url.startswith("/"):
            assert client.get(url).status_code == 200, url


def test_openapi_document_lists_every_contract_path(client):
    spec = client.get("/schema/openapi.json").json()
    paths = set(spec["paths"])
    for path in [
        "/api/sites",
        "/api/sites/{site_id}",
        "/api/sites/{site_id}/status",
        "/api/sites/{site_id}/history",
        "/api/sites.geojson",
        "/api/divisions",
        "/api/divisions/{code}",
        "/api/divisions/{code}/boundary",
        "/api/geo/locate",
        "/api/signage/check",
        "/api/auth/token",
        "/api/users",
        "/api/audit",
    ]:
        assert path in paths, path
    operation_ids = [
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_unknown_path_is_a_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_wrong_method_is_405(client):
    response = client.delete("/api/divisions")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_pages_carry_a_strict_content_security_policy(client):
    for path in ("/", "/schema", "/api/sites"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_docs_page_has_no_inline_script(client):
    page = client.get("/schema").text
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"<script[^>]*>[^<]+</script>", page) is None
    assert page.count("<script") == 3


def test_cors_is_off_by_default(client):
    response = client.options(
        "/api/sites",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in response.headers
    response = client.get("/api/sites", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_static_assets_are_revalidated_not_cached_blindly(client):
    response = client.get("/static/dashboard.js")
    assert response.status_code == 200
    assert "no-cache" in response.headers["cache-control"]
    validator = response.headers.get("etag")
    assert validator
    again = client.get("/static/dashboard.js", headers={"If-None-Match": validator})
    assert again.status_code in (200, 304)


def test_the_api_document_only_grows(client):
    """What API clients were generated from (the document as of 2026-12-05, before the code was
    reorganised) is still there: every operation with its parameters and answers, every schema
    under its name with its properties; new ones may be added, a new required field only on
    answers."""
    import json
    from pathlib import Path

    before = json.loads((Path(__file__).parent / "data" / "openapi_2026-12-05.json").read_text())
    spec = client.get("/schema/openapi.json").json()
    for key, old in before["operations"].items():
        method, path = key.split(" ", 1)
        assert path in spec["paths"] and method.lower() in spec["paths"][path], key
        op = spec["paths"][path][method.lower()]
        assert op.get("operationId") == old["operationId"], key
        assert set(old["parameters"]) <= {p["name"] for p in op.get("parameters", [])}, key
        assert set(old["responses"]) <= set(op.get("responses", {})), key
    schemas = spec["components"]["schemas"]
    for name, old in before["schemas"].items():
        assert name in schemas, f"schema {name} renamed or removed"
        assert set(old["properties"]) <= set(schemas[name].get("properties", {})), name
        assert set(old["required"]) <= set(schemas[name].get("required", [])), name
