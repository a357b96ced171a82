"""Health and offline API documentation (both engines)."""

from __future__ import annotations

import re


def test_health_reports_the_engine(client, engine_name):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["database"] == engine_name
    assert body["divisions"] > 3000


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
