"""A callback outage: refused connections, then 500s, then recovery, while another callback stays healthy.

Every attempt is recorded (refused: no status and the connection error; 500s; the final 2xx), attempt
numbers run 1..n without gaps, everything is delivered in the end, and the healthy subscriber gets
every event promptly all along: one broken automation does not hold up the others.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from app import simulate
from app.models import deliveries
from tests.conftest import ACCOUNT_SID, AppHarness
from tests.factories import attempt_rows, create_subscription
from tests.receiver import Receiver
from tests.reliability.conftest import Figures
from tests.twilio_requests import post_signed

MESSAGES = "/webhooks/twilio/messages"
RETRY_EVERY = 0.25  # seconds: the compressed SWITCHBOARD_RETRY_SCHEDULE
PHASE_SECONDS = 1.5  # how long the callback refuses, then how long it answers 500
PROMPT_SECONDS = 2.0  # the healthy subscriber's bound from our 200 to its delivery


async def _send_sms(harness: AppHarness, label: str, accepted_at: dict[str, float]) -> None:
    params = simulate.message(simulate.Options(account_sid=ACCOUNT_SID, body=label))
    response = await post_signed(harness.client, MESSAGES, params)
    assert response.status_code == 200, response.text
    accepted_at[params["MessageSid"]] = time.monotonic()


async def _deliveries_of(harness: AppHarness, subscription_id: str) -> list[dict[str, Any]]:
    async with harness.runtime.engine.connect() as conn:
        query = select(deliveries).where(deliveries.c.subscription_id == subscription_id)
        return [dict(row._mapping) for row in (await conn.execute(query)).all()]


def _phases(attempts: list[dict[str, Any]]) -> str:
    """An attempt history as letters: R refused, E 500, S success (e.g. "RRREES")."""
    letters = []
    for attempt in attempts:
        if attempt["status_code"] is None:
            assert attempt["error"] and attempt["error"].startswith("cannot connect"), attempt
            letters.append("R")
        elif attempt["status_code"] == 500:
            assert attempt["error"] == "HTTP 500", attempt
            letters.append("E")
        else:
            assert 200 <= attempt["status_code"] < 300 and attempt["error"] is None, attempt
            letters.append("S")
    return "".join(letters)


async def test_callback_refusing_then_failing_then_recovering_gets_everything_and_others_are_unaffected(
    harness_factory: Any, figures: Figures
) -> None:
    harness: AppHarness = await harness_factory(run_worker=True, retry_schedule=(RETRY_EVERY,) * 60)
    engine = harness.runtime.engine
    flaky = await Receiver().start()
    healthy = await Receiver().start()
    try:
        await flaky.stop()  # down: its port now refuses connections
        flaky_sub = await create_subscription(engine, flaky.url)
        healthy_sub = await create_subscription(engine, healthy.url)
        accepted_at: dict[str, float] = {}

        # Phase 1: the callback refuses connections.
        await asyncio.gather(*(_send_sms(harness, f"refused phase {n}", accepted_at) for n in range(20)))
        await asyncio.sleep(PHASE_SECONDS)
        # Phase 2: it is back, but answers 500.
        flaky.status = 500
        await flaky.start()
        await asyncio.gather(*(_send_sms(harness, f"500 phase {n}", accepted_at) for n in range(20)))
        await asyncio.sleep(PHASE_SECONDS)
        healthy_done_while_flaky_down = {r.json()["raw"]["MessageSid"] for r in healthy.received}
        # Phase 3: it recovers.
        flaky.status = 204
        recovered_at = time.monotonic()
        await _wait_all_succeeded(harness, flaky_sub["id"], len(accepted_at))
        recovery = time.monotonic() - recovered_at
    finally:
        await flaky.stop()
        await healthy.stop()

    # The healthy subscriber had every event before the flaky one recovered, each promptly.
    assert healthy_done_while_flaky_down == set(accepted_at)
    first_arrival: dict[str, float] = {}
    for request in healthy.received:
        first_arrival.setdefault(request.json()["raw"]["MessageSid"], request.at)
    lags = [first_arrival[sid] - accepted_at[sid] for sid in accepted_at]
    assert max(lags) < PROMPT_SECONDS, max(lags)
    for delivery in await _deliveries_of(harness, healthy_sub["id"]):
        assert delivery["status"] == "succeeded" and delivery["attempt_count"] == 1, delivery

    # Every attempt at the flaky callback is recorded, numbered 1..n, refused → 500 → success.
    histories: dict[str, str] = {}
    for delivery in await _deliveries_of(harness, flaky_sub["id"]):
        attempts = await attempt_rows(engine, delivery["id"])
        assert [a["number"] for a in attempts] == list(range(1, len(attempts) + 1))
        assert delivery["attempt_count"] == len(attempts) and delivery["last_status_code"] == 204
        history = _phases(attempts)
        assert history.rstrip("S") == history[:-1] and history.endswith("S"), history
        assert "ER" not in history, f"refused after a 500: the phases are out of order: {history}"
        # The receiver saw exactly the attempts that reached it: every 500 and the success.
        arrived = [r for r in flaky.received if r.headers["webhook-id"] == delivery["id"]]
        assert len(arrived) == history.count("E") + 1, (history, len(arrived))
        histories[delivery["id"]] = history
    assert len(histories) == 40
    # The faults really happened: every event of the first phase was refused, then got 500s.
    refused_phase = [h for h in histories.values() if h.startswith("R")]
    assert len(refused_phase) == 20 and all("E" in h for h in refused_phase), histories

    figures["events"] = len(accepted_at)
    figures["attempts_refused"] = sum(h.count("R") for h in histories.values())
    figures["attempts_500"] = sum(h.count("E") for h in histories.values())
    figures["healthy_lag_max_seconds"] = round(max(lags), 3)
    figures["all_delivered_after_recovery_seconds"] = round(recovery, 2)


async def _wait_all_succeeded(harness: AppHarness, subscription_id: str, count: int) -> None:
    """Wait until every delivery to the subscription is recorded as succeeded."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = await _deliveries_of(harness, subscription_id)
        if len(rows) == count and all(row["status"] == "succeeded" for row in rows):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not all deliveries succeeded: {[r['status'] for r in rows]}")
