"""PostgreSQL stopped and restarted under load: fast 503s, never a 200 without a commit, recovery alone.

The test stops the local cluster with ``pg_ctlcluster`` (the whole cluster: PostgreSQL has no way to
stop one database), keeps sending webhooks while it is down, starts it again, and always restarts it
in a ``finally`` (see ``postgres_control.outage``) so no later test finds it stopped.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import create_subscription
from tests.processes import Server, env_for
from tests.receiver import Receiver
from tests.reliability.conftest import Figures, stable_port
from tests.reliability.postgres_control import Cluster, local_cluster, outage
from tests.reliability.store import stored_message_sids, wait_received
from tests.reliability.traffic import Stream, TwilioLikeSender, inbound_sms

FAST_503_SECONDS = 1.0
RECOVERY_SECONDS = 10.0
DOWN_SECONDS = 2.0


@pytest.fixture
def cluster(database_url: str) -> Cluster:
    found = local_cluster(database_url)
    if isinstance(found, str):
        pytest.skip(f"cannot stop PostgreSQL for this test: {found}")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_postgresql_outage_gives_fast_503s_no_200_without_commit_and_recovers_alone(
    database_url: str,
    cluster: Cluster,
    engine: AsyncEngine,
    receiver: Receiver,
    tmp_path: Path,
    figures: Figures,
) -> None:
    await create_subscription(engine, receiver.url)
    port = stable_port()
    base_url = f"http://127.0.0.1:{port}"
    server = await asyncio.to_thread(Server, env_for(database_url), tmp_path, port=port)
    stream = Stream(base_url, lambda n: inbound_sms(base_url, n), lanes=8, pause=0.01)
    running = asyncio.create_task(stream.run())
    try:
        await asyncio.sleep(1.0)  # normal traffic first
        async with outage(cluster):
            down_from = time.monotonic()  # pg_ctlcluster stop has returned: PostgreSQL is gone
            await asyncio.sleep(DOWN_SECONDS)
            down_until = time.monotonic()
        back_at = time.monotonic()  # PostgreSQL answers queries again
        first_200_after = await _first_200_after(stream, back_at, timeout=RECOVERY_SECONDS + 5)
        await asyncio.sleep(0.5)
        stream.stop()
        sent = await running
        # Twilio sends again whatever did not get a 200: all of it must be taken now.
        unanswered = [webhook for webhook, answer in sent if answer.status != 200]
        retried = await TwilioLikeSender(base_url, concurrency=8, deadline=60).send_all(unanswered)
        all_sids = [webhook.sid for webhook, _ in sent]
        delivery_seconds = await wait_received(receiver, all_sids, timeout=60)
    finally:
        stream.stop()
        running.cancel()
        server.terminate()
        server.close()

    during = [
        answer for _, answer in sent if answer.sent_at >= down_from and answer.answered_at <= down_until
    ]
    # The fault really happened: while PostgreSQL was down, webhooks kept coming and none was taken.
    assert len(during) >= 20, len(during)
    assert {answer.status for answer in during} == {503}, {a.status or a.error for a in during}
    slowest_503 = max(answer.seconds for answer in during)
    assert slowest_503 < FAST_503_SECONDS, slowest_503
    body = json.loads(during[0].body)
    assert body["error"]["code"] == "service_unavailable"
    # Never anything but a 200 or a 503 (no 500 while the database comes and goes).
    assert {answer.status for _, answer in sent} <= {200, 503}
    assert first_200_after - back_at < RECOVERY_SECONDS

    accepted = {webhook.sid for webhook, answer in sent if answer.status == 200}
    stored = await stored_message_sids(engine)
    assert accepted <= set(stored), "a 200 was given for an event that is not in the database"
    assert all(history.accepted for history in retried.values())
    assert set(stored) == set(all_sids) and max(stored.values()) == 1

    figures["webhooks"] = len(sent)
    figures["answered_503_while_down"] = len(during)
    figures["slowest_503_seconds"] = round(slowest_503, 3)
    figures["first_200_after_database_back_seconds"] = round(first_200_after - back_at, 3)
    figures["accepted_before_resend"] = len(accepted)
    figures["resent_until_200"] = len(unanswered)
    figures["delivery_catch_up_seconds"] = round(delivery_seconds, 1)


async def _first_200_after(stream: Stream, moment: float, timeout: float) -> float:
    """When the first request sent after ``moment`` was answered 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = [a.answered_at for _, a in list(stream.sent) if a.sent_at >= moment and a.status == 200]
        if answered:
            return min(answered)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no 200 within {timeout}s of PostgreSQL answering again")
