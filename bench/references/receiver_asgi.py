"""A callback receiver for delivery benchmarks: answers 204 to every POST and counts them.

Copied from ../shared/bench/receiver_asgi.py (the reference behind STYLE.md's "Measured facts"), reformatted
for this repository's ruff settings; behaviour unchanged.
"""

COUNT = {"n": 0}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        msg = await receive()
        more = msg.get("more_body", False)
    if scope["path"] == "/count":
        body = str(COUNT["n"]).encode()
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    COUNT["n"] += 1
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
