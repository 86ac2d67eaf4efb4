"""The OpenAPI document describes every API route, its bearer security and its error bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import make_settings

ROUTES = {
    ("get", "/api/v1/triggers"),
    ("post", "/api/v1/subscriptions"),
    ("get", "/api/v1/subscriptions"),
    ("get", "/api/v1/subscriptions/{subscription_id}"),
    ("patch", "/api/v1/subscriptions/{subscription_id}"),
    ("delete", "/api/v1/subscriptions/{subscription_id}"),
    ("post", "/api/v1/subscriptions/{subscription_id}/rotate-secret"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/events/{event_id}"),
    ("post", "/api/v1/events/{event_id}/replay"),
    ("get", "/api/v1/deliveries"),
    ("get", "/api/v1/deliveries/{delivery_id}"),
    ("post", "/api/v1/deliveries/{delivery_id}/retry"),
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The document needs no database: the app is not even started.
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'unused.db'}"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, methods in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in methods.items()
    }


def _mine(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: operation for key, operation in _operations(spec).items() if key in ROUTES}


def test_every_route_is_documented(spec: dict[str, Any]) -> None:
    assert _operations(spec).keys() >= ROUTES


def test_every_api_route_requires_the_bearer_token(spec: dict[str, Any]) -> None:
    # All of /api/v1, not only the routes above: a route added without the token shows up here.
    assert spec["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    for key, operation in _operations(spec).items():
        assert operation.get("security") == [{"BearerToken": []}], key


def test_every_route_has_a_summary_a_tag_and_a_typed_success(spec: dict[str, Any]) -> None:
    for key, operation in _mine(spec).items():
        assert operation.get("summary"), key
        assert operation.get("tags"), key
        success = [status for status in operation["responses"] if status.startswith("2")]
        assert len(success) == 1, key
        if success != ["204"]:
            assert operation["responses"][success[0]]["content"]["application/json"]["schema"], key


def test_errors_are_documented_with_the_contract_shape(spec: dict[str, Any]) -> None:
    error_ref = "#/components/schemas/ErrorResponse"
    for key, operation in _mine(spec).items():
        errors = {status: r for status, r in operation["responses"].items() if status[0] in "45"}
        assert {"401", "503"} <= errors.keys(), key
        for status, response in errors.items():
            assert response["content"]["application/json"]["schema"] == {"$ref": error_ref}, (key, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


@pytest.mark.parametrize(
    ("key", "statuses"),
    [
        (("get", "/api/v1/subscriptions/{subscription_id}"), {"404"}),
        (("delete", "/api/v1/subscriptions/{subscription_id}"), {"404"}),
        (("post", "/api/v1/subscriptions"), {"422"}),
        (("post", "/api/v1/events/{event_id}/replay"), {"404", "422"}),
        (("post", "/api/v1/deliveries/{delivery_id}/retry"), {"404", "409"}),
    ],
    ids=["get-404", "delete-404", "create-422", "replay-404-422", "retry-409"],
)
def test_route_specific_errors_are_documented(
    spec: dict[str, Any], key: tuple[str, str], statuses: set[str]
) -> None:
    assert statuses <= _operations(spec)[key]["responses"].keys()


def test_secrets_appear_only_in_the_create_and_rotate_answers(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "secret" in schemas["SubscriptionWithSecret"]["properties"]
    assert "secret" not in schemas["SubscriptionRead"]["properties"]
    ops = _operations(spec)
    for key in [
        ("post", "/api/v1/subscriptions"),
        ("post", "/api/v1/subscriptions/{subscription_id}/rotate-secret"),
    ]:
        schema = ops[key]["responses"]["201" if key[1].endswith("subscriptions") else "200"]
        assert schema["content"]["application/json"]["schema"]["$ref"].endswith("SubscriptionWithSecret")


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text
