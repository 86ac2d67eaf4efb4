"""Delivery floor with aiohttp: one Python process POSTing signed JSON callbacks (no database).

Usage: aiohttp_floor.py [N] [CONCURRENCY]; RECEIVER_PORT picks the receiver (default 9000).

Copied from ../shared/bench/aiohttp_floor.py (the reference behind STYLE.md's "Measured facts"), reformatted
for this repository's ruff settings. One addition: FLOOR_BODY_FILE, when set, names the JSON body to post
instead of the small built-in one, so the floor posts envelopes the same size as Switchboard's.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time

import aiohttp

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
C = int(sys.argv[2]) if len(sys.argv) > 2 else 64
URL = "http://127.0.0.1:{}/hook".format(os.environ.get("RECEIVER_PORT", "9000"))
SECRET = b"0" * 24
BODY = json.dumps(
    {
        "id": "evt_x",
        "type": "messages/message_received",
        "data": {"sid": "SM1", "body": "hello", "from": "+1", "to": "+2"},
    }
).encode()
if os.environ.get("FLOOR_BODY_FILE"):
    with open(os.environ["FLOOR_BODY_FILE"], "rb") as body_file:
        BODY = body_file.read()


async def main():
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=C)) as client:
        sem = asyncio.Semaphore(C)

        async def one(i):
            async with sem:
                ts = str(int(time.time()))
                signed = f"msg_{i}.{ts}.".encode() + BODY
                sig = base64.b64encode(hmac.new(SECRET, signed, hashlib.sha256).digest()).decode()
                headers = {
                    "content-type": "application/json",
                    "webhook-id": f"msg_{i}",
                    "webhook-timestamp": ts,
                    "webhook-signature": "v1," + sig,
                }
                async with client.post(URL, data=BODY, headers=headers) as r:
                    assert r.status == 204

        t = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(N)))
        dt = time.perf_counter() - t
    print(f"aiohttp c={C}: {N / dt:.0f} callbacks/s")


asyncio.run(main())
