"""SIGTERM, as an orchestrator sends it: `serve` and `worker` finish what is in flight and exit 0 in time.

Docker and Kubernetes wait 10 s before SIGKILL. Within that, a webhook request in flight must be
answered (and its event committed), and deliveries whose callbacks are still hanging must be handed
back for another worker rather than kept locked until their lease runs out.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import simulate
from app.delivery.worker import DeliveryWorker
from app.models import deliveries, delivery_attempts, events
from tests.conftest import ACCOUNT_SID
from tests.factories import create_pending_deliveries, create_subscription
from tests.processes import Process, Server, env_for
from tests.receiver import Receiver
from tests.twilio_requests import sign

MESSAGES = "/webhooks/twilio/messages"
STOP_BUDGET = 10.0  # seconds: Docker's and Kubernetes' default before SIGKILL
GRACE = 5.0


async def wait_exit(process: Process, since: float) -> tuple[int, float]:
    code = await asyncio.to_thread(process.popen.wait, 30)
    return code, time.monotonic() - since


async def test_sigterm_stops_serve_and_worker_gracefully_within_10_seconds(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    # Callbacks that hang longer than the grace: both processes hold one delivery each at SIGTERM.
    receiver = await Receiver(delay=GRACE + 3).start()
    env = env_for(database_url, SWITCHBOARD_DELIVERY_CONCURRENCY="1")
    processes: list[Process] = []
    try:
        subscription = await create_subscription(engine, receiver.url)
        held = await create_pending_deliveries(engine, subscription["id"], 2)
        server = await asyncio.to_thread(Server, env, tmp_path)
        processes.append(server)
        processes.append(Process(["worker"], env, tmp_path, "worker.log"))
        await receiver.wait_for_arrivals(2, timeout=20)

        # A webhook in flight: headers and half its body sent, the rest only after the SIGTERM.
        params = simulate.message(simulate.Options(account_sid=ACCOUNT_SID, body="in flight"))
        body = urlencode(params).encode()
        host = f"127.0.0.1:{server.port}"
        head = (
            f"POST {MESSAGES} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {sign(f'http://{host}{MESSAGES}', params)}\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(head + body[:20])
        await writer.drain()
        await asyncio.sleep(0.2)

        stopped_at = time.monotonic()
        for process in processes:
            process.popen.terminate()
        await asyncio.sleep(0.5)
        writer.write(body[20:])
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()

        (serve_code, serve_took), (worker_code, worker_took) = await asyncio.gather(
            *(wait_exit(p, stopped_at) for p in processes)
        )
    finally:
        for process in processes:
            process.close()
        await receiver.stop()

    assert answer.startswith(b"HTTP/1.1 200 OK"), answer
    assert answer.endswith(b"<Response/>")
    logs = {p.log_path.name: p.log() for p in processes}
    assert (serve_code, worker_code) == (0, 0), logs
    assert serve_took < STOP_BUDGET and worker_took < STOP_BUDGET, (serve_took, worker_took)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(deliveries).where(deliveries.c.id.in_(held)))).all()
        attempts = (await conn.execute(select(func.count()).select_from(delivery_attempts))).scalar_one()
        stored = (
            await conn.execute(select(events.c.data).where(events.c.dedupe_key == params["MessageSid"]))
        ).all()
    # Released, not attempted: another worker takes them at once instead of after the lease.
    assert [(r.status, r.locked_by, r.locked_until, r.attempt_count) for r in rows] == [
        ("pending", None, None, 0)
    ] * 2
    assert attempts == 0
    assert [row.data["body"] for row in stored] == ["in flight"]
    print(f"SIGTERM → exit: serve {serve_took:.2f}s, worker {worker_took:.2f}s")  # shown with -s


def test_the_worker_grace_fits_the_drain_inside_the_budget() -> None:
    """The stop runs the HTTP drain and the worker's grace side by side; both fit the budget."""
    from app import server

    default_grace = DeliveryWorker.__init__.__kwdefaults__["grace"]  # type: ignore[index]
    assert default_grace == GRACE
    assert max(server.DRAIN_SECONDS, default_grace) + 1.0 < STOP_BUDGET
