"""Triggers: every webhook event the loaded definitions declare."""

from __future__ import annotations

from tests.conftest import AppHarness


async def test_lists_the_four_twilio_events_with_their_fields(api: AppHarness) -> None:
    response = await api.client.get("/api/v1/triggers")

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    by_event = {item["event"]: item for item in body["items"]}
    assert by_event.keys() == {
        "messages/message_received",
        "messages/message_status",
        "calls/call_received",
        "calls/call_status",
    }
    sms = by_event["messages/message_received"]
    assert sms["path"] == "/webhooks/twilio/messages"
    assert sms["connector"] == "twilio"
    assert sms["description"]
    fields = {field["name"]: field for field in sms["fields"]}
    assert {"sid", "body", "from", "to"} <= fields.keys()
    assert fields["body"]["type"] == "string"
    assert fields["sid"]["description"]
    assert by_event["calls/call_status"]["path"] == "/webhooks/twilio/calls/status"
