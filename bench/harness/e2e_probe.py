"""The end-to-end latency probe: sends signed webhooks on a fixed schedule and receives their forwards.

One process, so one clock: the sender records when each MessageSid was sent, the receiver (an aiohttp
server in the same event loop) when its forwarded envelope arrived. Sending is open-loop: request i goes
out at t0 + i / rate whether or not earlier ones were answered. A warm-up phase with other MessageSids
runs first and is waited for. Prints one line, ``BENCH_E2E_JSON {...}``.

Run with ``bench/`` on PYTHONPATH:
``python -m harness.e2e_probe --url URL --receiver-port PORT [--rate 200] [--duration 10] [--warmup 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import uvloop
from aiohttp import web

from harness.stats import summary_ms
from harness.twilio_requests import SidSet, SignedRequest, signed_requests

MARKER = "BENCH_E2E_JSON "


@dataclass
class Phase:
    requests: list[SignedRequest]
    scheduled: dict[str, float] = field(default_factory=dict)
    sent: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)


class Probe:
    def __init__(self, url: str, rate: float):
        self.url = url
        self.rate = rate
        self.arrivals: dict[str, float] = {}
        self.duplicates: Counter[str] = Counter()  # MessageSid → arrivals after the first
        self._arrived = asyncio.Event()

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        arrived = time.perf_counter()
        sid = json.loads(body)["raw"]["MessageSid"]
        if sid in self.arrivals:
            self.duplicates[sid] += 1
        else:
            self.arrivals[sid] = arrived
            self._arrived.set()
        return web.Response(status=204)

    async def send_all(self, client: aiohttp.ClientSession, phase: Phase) -> None:
        """Request i at t0 + i / rate, each in its own task: a slow answer delays no later request."""
        tasks = []
        start = time.perf_counter() + 0.01
        for i, request in enumerate(phase.requests):
            due = start + i / self.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            phase.scheduled[request.sid] = due
            tasks.append(asyncio.create_task(self._send(client, phase, request)))
        await asyncio.gather(*tasks)

    async def _send(self, client: aiohttp.ClientSession, phase: Phase, request: SignedRequest) -> None:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": request.signature,
        }
        phase.sent[request.sid] = time.perf_counter()
        try:
            async with client.post(self.url, data=request.body.encode(), headers=headers) as response:
                await response.read()
                phase.statuses[response.status] += 1
        except aiohttp.ClientError:
            phase.statuses[0] += 1
        phase.answered[request.sid] = time.perf_counter()

    async def wait_arrivals(self, phase: Phase) -> None:
        missing = {r.sid for r in phase.requests} - self.arrivals.keys()
        while missing:
            self._arrived.clear()
            await self._arrived.wait()
            missing -= self.arrivals.keys()

    def report(self, phase: Phase) -> dict[str, Any]:
        sids = [r.sid for r in phase.requests]
        arrived = [s for s in sids if s in self.arrivals]
        return {
            "sent": len(sids),
            "statuses": {str(k): v for k, v in phase.statuses.items()},
            "arrived": len(arrived),
            "duplicates": sum(self.duplicates[s] for s in sids),
            "latency_ms": summary_ms(self.arrivals[s] - phase.sent[s] for s in arrived),
            "latency_from_schedule_ms": summary_ms(self.arrivals[s] - phase.scheduled[s] for s in arrived),
            "response_ms": summary_ms(phase.answered[s] - phase.sent[s] for s in phase.answered),
            "sender_lag_ms": summary_ms(phase.sent[s] - phase.scheduled[s] for s in phase.sent),
        }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    probe = Probe(args.url, args.rate)
    app = web.Application()
    app.router.add_post("/hook", probe.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.receiver_port).start()
    warmup = Phase(list(signed_requests(args.url, SidSet.LATENCY_WARMUP, 0, int(args.rate * args.warmup))))
    measured = Phase(list(signed_requests(args.url, SidSet.LATENCY, 0, int(args.rate * args.duration))))
    try:
        async with aiohttp.ClientSession() as client:
            for phase in (warmup, measured):
                await probe.send_all(client, phase)
                with contextlib.suppress(TimeoutError):  # the report counts what never arrived
                    async with asyncio.timeout(30):
                        await probe.wait_arrivals(phase)
            await asyncio.sleep(0.5)  # anything forwarded twice would arrive now
    finally:
        await runner.cleanup()
    return {"warmup": probe.report(warmup), "measured": probe.report(measured)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the webhook URL, exactly as signed")
    parser.add_argument("--receiver-port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    return parser.parse_args()


if __name__ == "__main__":
    print(MARKER + json.dumps(uvloop.run(main(parse_args()))), flush=True)
