"""Physical-limit reference: the least an ASGI server can do for a Twilio webhook.

Reads the whole form body and answers an empty TwiML <Response/>; no parsing, no signature, no storage.

Copied from ../shared/bench/bare_asgi.py (the reference behind STYLE.md's "Measured facts"), reformatted for
this repository's ruff settings; behaviour unchanged.
"""

TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
HEADERS = [(b"content-type", b"text/xml; charset=utf-8"), (b"content-length", str(len(TWIML)).encode())]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        msg = await receive()
        more = msg.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": TWIML})
