"""Cursors: opaque, round-trip, and refused (422) when they are not one of this list's."""

from __future__ import annotations

import base64

import pytest

from app import ids
from app.api.pagination import decode_cursor, encode_cursor
from app.errors import Unprocessable
from tests.api.conftest import create_subscription, receive_sms
from tests.conftest import AppHarness


def test_a_cursor_round_trips_and_is_url_safe() -> None:
    last = ids.new_id("sub")
    cursor = encode_cursor(last)
    assert decode_cursor(cursor, "sub") == last
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "abc",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        encode_cursor("sub_short"),
        encode_cursor("sub_01m8ym5z396tycfevc31xedzj7' OR 1=1"),
        encode_cursor(ids.new_id("evt")),
    ],
    ids=["not-base64", "garbage", "not-ascii", "not-an-id", "injection", "another-lists-id"],
)
def test_a_foreign_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(Unprocessable):
        decode_cursor(cursor, "sub")


LISTS = ["/api/v1/subscriptions", "/api/v1/events", "/api/v1/deliveries"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("limit", ["0", "501", "-1", "ten"])
async def test_limit_outside_1_to_500_is_422(api: AppHarness, path: str, limit: str) -> None:
    response = await api.client.get(path, params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert "limit" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", LISTS)
async def test_an_invalid_cursor_is_422(api: AppHarness, path: str) -> None:
    response = await api.client.get(path, params={"cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert "cursor" in response.json()["error"]["message"]


async def test_a_cursor_from_another_list_is_422(api: AppHarness) -> None:
    for _ in range(2):
        await receive_sms(api)
    events_cursor = (await api.client.get("/api/v1/events", params={"limit": 1})).json()["next_cursor"]
    response = await api.client.get("/api/v1/subscriptions", params={"cursor": events_cursor})
    assert response.status_code == 422


async def test_default_limit_is_50_and_500_is_allowed(api: AppHarness) -> None:
    for _ in range(51):
        await create_subscription(api)
    default = (await api.client.get("/api/v1/subscriptions")).json()
    everything = (await api.client.get("/api/v1/subscriptions", params={"limit": 500})).json()
    assert len(default["items"]) == 50
    assert default["next_cursor"] is not None
    assert len(everything["items"]) == 51
    assert everything["next_cursor"] is None
