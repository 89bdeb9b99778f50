"""The OpenAPI description stays true to the routes the hub serves."""

from __future__ import annotations

import pytest
import schemathesis

from contactcenter.app import create_app
from contactcenter.hub import Hub
from contactcenter.web.openapi import openapi_document

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _served(settings) -> set[tuple[str, str]]:
    hub = Hub.create(settings, "sqlite+aiosqlite:///routes-only.db")  # never connected
    app = create_app(settings, hub, workers=False)
    return {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        if route.resource is not None
        and route.method.lower() in HTTP_METHODS
        and route.resource.canonical.startswith(("/api/", "/healthz"))
    }


def test_every_api_route_is_described_and_nothing_else(settings) -> None:
    document = openapi_document(settings.http.public_url)
    described = {(path, method) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS}
    served = _served(settings)
    assert served - described == set(), "routes missing from contactcenter/web/openapi.py"
    assert described - served == set(), "contactcenter/web/openapi.py describes routes the hub does not serve"


def test_the_document_is_valid_openapi_3_1(settings) -> None:
    document = openapi_document(settings.http.public_url)
    assert document["openapi"] == "3.1.0"
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(_served(settings))


@pytest.mark.sqlite_only  # the document does not depend on the database
async def test_served_without_a_token(client) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    body = await response.json()
    assert body["servers"] == [{"url": "http://127.0.0.1:8080"}]  # [http] public_url
    assert "/api/v1/contacts" in body["paths"]
