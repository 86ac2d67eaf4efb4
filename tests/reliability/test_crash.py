"""Crash safety: `kill -9` of `switchboard serve`, 20 times, while Twilio-like traffic keeps coming.

Twilio sends the same request again after a connection error, a timeout or a 5xx; every webhook that
was answered 200 must then be stored exactly once and forwarded at least once, whatever moment the
process died at (mid-request, mid-commit, mid-delivery).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import create_subscription
from tests.processes import Server, env_for
from tests.receiver import Receiver
from tests.reliability.conftest import Figures, stable_port
from tests.reliability.store import received_message_sids, stored_message_sids, wait_received
from tests.reliability.traffic import TwilioLikeSender, inbound_sms, statuses

KILLS = 20
# Webhooks kept queued ahead of the senders, so the stream outlasts the kills on any machine: between
# two kills this suite's machines accept 60-350 (most of them while the restarted server is found ready).
BACKLOG = 1000
SIGKILLED = -9  # Popen.returncode of a child ended by signal 9


@pytest.mark.slow
async def test_twenty_kill_9s_under_load_store_each_accepted_webhook_once_and_deliver_it(
    database_url: str, engine: AsyncEngine, receiver: Receiver, tmp_path: Path, seed: int, figures: Figures
) -> None:
    rng = random.Random(seed)
    await create_subscription(engine, receiver.url)
    port = stable_port()
    base_url = f"http://127.0.0.1:{port}"
    # A short lease, so deliveries claimed by a killed process are taken over within the test's time.
    env = env_for(database_url, SWITCHBOARD_DELIVERY_LEASE="2", SWITCHBOARD_RETRY_SCHEDULE="0.2,0.5,1,1,1,1")
    sender = TwilioLikeSender(base_url, concurrency=16, retry_delay=0.1)
    numbers = itertools.count()

    def top_up() -> None:
        sender.add(inbound_sms(base_url, next(numbers)) for _ in range(BACKLOG - sender.queued))

    started = time.monotonic()
    server = await asyncio.to_thread(Server, env, tmp_path, port=port)
    top_up()
    stream = asyncio.create_task(sender.run())
    return_codes: list[int] = []
    in_flight_at_kill: list[int] = []
    restart_seconds: list[float] = []
    try:
        for _ in range(KILLS):
            # Kill at a random point of the stream: 1-100 more accepted webhooks, plus a few milliseconds.
            top_up()
            await asyncio.wait_for(sender.wait_accepted(sender.accepted + rng.randint(1, 100)), timeout=120)
            await asyncio.sleep(rng.uniform(0, 0.05))
            in_flight_at_kill.append(sender.in_flight)
            await asyncio.to_thread(server.kill)
            return_codes.append(server.popen.returncode)
            server.close()
            restarting = time.monotonic()
            server = await asyncio.to_thread(Server, env, tmp_path, port=port)
            restart_seconds.append(time.monotonic() - restarting)
        # The last server takes traffic too; what no sender has taken by then is never sent.
        await asyncio.wait_for(sender.wait_accepted(sender.accepted + 50), timeout=120)
        sender.finish(drop_queued=True)
        histories = await asyncio.wait_for(stream, timeout=180)
        accepted = [sid for sid, history in histories.items() if history.accepted]
        delivery_seconds = await wait_received(receiver, accepted, timeout=90)
    finally:
        stream.cancel()
        server.terminate()
        server.close()

    # The fault really happened: 20 processes died of SIGKILL, with requests in flight.
    assert return_codes == [SIGKILLED] * KILLS, return_codes
    assert sum(1 for n in in_flight_at_kill if n > 0) >= KILLS // 2, in_flight_at_kill
    retried = sum(1 for history in histories.values() if len(history.answers) > 1)
    assert retried > 0, "no request ever needed a retry: the kills did not hit the traffic"

    assert len(accepted) == len(histories), statuses(histories.values())
    stored = await stored_message_sids(engine)
    assert set(stored) == set(accepted), "an event was stored without a 200, or a 200 without an event"
    assert max(stored.values()) == 1, [sid for sid, n in stored.items() if n > 1][:5]
    received = received_message_sids(receiver)
    assert set(accepted) <= set(received)
    # A repeat is the same delivery again (same webhook-id), so a receiver can drop it.
    ids_by_sid: dict[str, set[str]] = {}
    for request in receiver.received:
        ids_by_sid.setdefault(request.json()["raw"]["MessageSid"], set()).add(request.headers["webhook-id"])
    assert all(len(ids) == 1 for ids in ids_by_sid.values())

    figures["database"] = database_url.split(":", 1)[0]
    figures["kills"] = len(return_codes)
    figures["webhooks_accepted"] = len(accepted)
    figures["requests_in_flight_at_kill_mean"] = round(statistics.mean(in_flight_at_kill), 1)
    figures["webhooks_retried"] = retried
    figures["tries_by_outcome"] = statuses(histories.values())
    figures["events_delivered_more_than_once"] = sum(1 for n in received.values() if n > 1)
    figures["restart_seconds_mean"] = round(statistics.mean(restart_seconds), 2)
    figures["delivery_catch_up_seconds"] = round(delivery_seconds, 1)
    figures["seconds"] = round(time.monotonic() - started, 1)
