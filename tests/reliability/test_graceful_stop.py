"""SIGTERM under load: requests in flight are finished, attempts in flight are recorded or released, and
the process is gone within 10 seconds.

Some callbacks answer in 0.3 s (their attempts finish inside the worker's grace period and are
recorded) and some take 30 s (they are cut off at the end of it, and their deliveries released, so a
restarted process sends them at once instead of waiting out the lease).
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import deliveries, delivery_attempts
from tests.factories import create_subscription
from tests.processes import Server, env_for
from tests.receiver import Receiver
from tests.reliability.conftest import Figures, stable_port
from tests.reliability.store import stored_message_sids, wait_received
from tests.reliability.traffic import Stream, TwilioLikeSender, inbound_sms

EXIT_SECONDS = 10.0
SLOW = 5


def _callback_delay(body: bytes) -> float:
    return 30.0 if b'"Body":"slow' in body else 0.3


@pytest.mark.slow
async def test_sigterm_under_load_finishes_requests_and_attempts_releases_the_rest_and_exits_in_time(
    database_url: str, engine: AsyncEngine, tmp_path: Path, figures: Figures
) -> None:
    receiver = await Receiver(delay_for=_callback_delay).start()
    await create_subscription(engine, receiver.url)
    port = stable_port()
    base_url = f"http://127.0.0.1:{port}"
    env = env_for(database_url)
    server = await asyncio.to_thread(Server, env, tmp_path, port=port)
    stream = Stream(base_url, lambda n: inbound_sms(base_url, n), lanes=16)
    try:
        slow = [inbound_sms(base_url, n, tag="f", text="slow") for n in range(SLOW)]
        assert all(h.accepted for h in (await TwilioLikeSender(base_url).send_all(slow)).values())
        await receiver.wait_for_arrivals(SLOW)  # ...all arrived: those attempts are in flight, for 30 s
        running = asyncio.create_task(stream.run())
        await asyncio.sleep(1.0)
        signalled_at = time.monotonic()
        exiting = asyncio.create_task(asyncio.to_thread(server.terminate, 30))
        await asyncio.sleep(0.5)  # requests keep coming for a moment after the signal
        stream.stop()
        exit_code = await exiting
        exit_seconds = time.monotonic() - signalled_at
        sent = await running
        log = server.log()
        server.close()
        async with engine.connect() as conn:
            rows = (await conn.execute(select(deliveries))).all()
            attempted = set((await conn.execute(select(delivery_attempts.c.delivery_id))).scalars())
        arrived_before_stop = {r.headers["webhook-id"] for r in receiver.received if r.at < signalled_at}

        # Nothing lost: a new process sends what was released, at once (not after the 60 s lease).
        receiver.delay_for = None
        restarted = await asyncio.to_thread(Server, env, tmp_path, port=port)
        try:
            unanswered = [webhook for webhook, answer in sent if answer.status != 200]
            await TwilioLikeSender(base_url).send_all(unanswered)
            everything = [w.sid for w in slow] + [webhook.sid for webhook, _ in sent]
            # Within the lease (60 s) and the delivery timeout (15 s): released, not waited out.
            redelivery_seconds = await wait_received(receiver, everything, timeout=10)
        finally:
            restarted.terminate()
            restarted.close()
    finally:
        stream.stop()
        server.close()
        await receiver.stop()

    assert exit_code == 0, log[-3000:]
    assert exit_seconds < EXIT_SECONDS, exit_seconds
    # Requests: every answer was a 200 or a clean 503; none sent before SIGTERM got anything else.
    answered = [answer for _, answer in sent if answer.status is not None]
    assert {answer.status for answer in answered} <= {200, 503}
    finished_after_signal = [
        a for a in answered if a.sent_at < signalled_at <= a.answered_at and a.status in (200, 503)
    ]
    assert finished_after_signal, "no request was in flight at SIGTERM: the stop did not hit the load"
    accepted = {webhook.sid for webhook, answer in sent if answer.status == 200}
    stored = await stored_message_sids(engine)
    assert accepted <= set(stored), "a 200 was given for an event that is not stored"

    # Attempts: the quick ones in flight were finished and recorded; the slow ones were released.
    by_id = {row.id: row for row in rows}
    pending = [row for row in rows if row.status == "pending"]
    assert all(row.locked_by is None and row.locked_until is None for row in pending), pending[:3]
    slow_ids = {r.headers["webhook-id"] for r in receiver.received if b'"Body":"slow' in r.body}
    assert len(slow_ids) == SLOW and all(by_id[d].status == "pending" for d in slow_ids)
    assert not slow_ids & attempted, "an attempt cut off by the stop was recorded as made"
    quick_in_flight = arrived_before_stop - slow_ids
    assert quick_in_flight <= attempted, "an attempt that finished during the grace period was not recorded"
    released = [int(n) for n in re.findall(r"released (\d+) unfinished deliveries", log)]
    assert released and released[0] >= SLOW, released

    figures["database"] = database_url.split(":", 1)[0]
    figures["sigterm_exit_seconds"] = round(exit_seconds, 2)
    figures["requests_sent"] = len(sent)
    figures["requests_finished_after_sigterm"] = len(finished_after_signal)
    figures["answers"] = collections.Counter(str(a.status or a.error) for _, a in sent)
    figures["deliveries_released"] = released[0]
    figures["released_redelivered_after_restart_seconds"] = round(redelivery_seconds, 1)
