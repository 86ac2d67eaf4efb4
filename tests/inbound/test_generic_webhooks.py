"""The engine is generic: a webhook added to a definition file is a working route with no code change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.connector.loader import default_connectors_dir
from app.models import events
from tests.conftest import ACCOUNT_SID
from tests.twilio_requests import post_signed

RECORDING_WEBHOOK = {
    "event": "recording_completed",
    "path": "/webhooks/twilio/recordings/status",
    "description": "A call recording finished (RecordingStatusCallback).",
    "dedupeKey": [["RecordingSid"], ["RecordingStatus"]],
    "payload": [
        {"name": "sid", "type": "string", "selector": ["RecordingSid"]},
        {"name": "call_sid", "type": "string", "selector": ["CallSid"]},
        {"name": "status", "type": "string", "selector": ["RecordingStatus"]},
        {"name": "duration", "type": "integer", "selector": ["RecordingDuration"]},
        {"name": "url", "type": "string", "selector": ["RecordingUrl"]},
    ],
}


def connectors_with_recording_webhook(tmp_path: Path) -> Path:
    shutil.copy(default_connectors_dir() / "twilio.json", tmp_path / "twilio.json")
    document = json.loads((tmp_path / "twilio.json").read_text())
    recordings = next(r for r in document["resources"] if r["handle"] == "recordings")
    recordings.setdefault("webhooks", []).append(RECORDING_WEBHOOK)
    (tmp_path / "twilio.json").write_text(json.dumps(document))
    return tmp_path


async def test_a_new_webhook_entry_becomes_a_working_route(harness_factory: Any, tmp_path: Path) -> None:
    harness = await harness_factory(connectors_path=connectors_with_recording_webhook(tmp_path))
    params = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": "CA" + "1" * 32,
        "RecordingSid": "RE" + "2" * 32,
        "RecordingStatus": "completed",
        "RecordingDuration": "17",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE2",
        "RecordingChannels": "1",
        "RecordingSource": "OutboundAPI",
    }
    for _ in range(2):  # the declared dedupe key holds for the new event too
        response = await post_signed(harness.client, "/webhooks/twilio/recordings/status", params)
        assert response.status_code == 200, response.text
    async with harness.runtime.engine.connect() as conn:
        [row] = (await conn.execute(select(events))).all()
    assert row.type == "recordings/recording_completed"
    assert row.data == {
        "sid": params["RecordingSid"],
        "call_sid": params["CallSid"],
        "status": "completed",
        "duration": 17,
        "url": params["RecordingUrl"],
    }
    assert row.raw == params


async def test_paths_no_definition_declares_are_not_webhooks(harness: Any) -> None:
    response = await harness.client.post("/webhooks/twilio/recordings/status", data={"a": "b"})
    assert response.status_code == 404
