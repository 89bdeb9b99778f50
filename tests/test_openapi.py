"""The OpenAPI description stays true to the routes the hub serves."""

from __future__ import annotations

import pytest
import schemathesis

from contactcenter.app import create_app
from contactcenter.hub import Hub
from contactcenter.web.openapi import openapi_document, served_operations

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _served(settings) -> set[tuple[str, str]]:
    hub = Hub.create(settings, "sqlite+aiosqlite:///routes-only.db")  # never connected
    return {
        (path, method)
        for path, method in served_operations(create_app(settings, hub, workers=False))
        if method in HTTP_METHODS and path.startswith(("/api/", "/healthz"))
    }


def _described(document) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS}


def test_every_api_route_is_described_and_nothing_else(settings) -> None:
    served = _served(settings)
    document = openapi_document(settings.http.public_url, served)
    assert served - _described(document) == set(), "routes missing from contactcenter/web/openapi.py"
    assert _described(document) == served


def test_the_document_is_valid_openapi_3_1(settings) -> None:
    for document in (openapi_document(settings.http.public_url), openapi_document(settings.http.public_url, _served(settings))):
        assert document["openapi"] == "3.1.0"
        schema = schemathesis.openapi.from_dict(document)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == len(_described(document))


@pytest.mark.sqlite_only  # the document does not depend on the database
async def test_served_without_a_token(client) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    body = await response.json()
    assert body["servers"] == [{"url": "http://127.0.0.1:8080"}]  # [http] public_url
    assert "/api/v1/contacts" in body["paths"]
