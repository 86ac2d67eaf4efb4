"""Reference: a FastAPI route that reads the Twilio form and answers empty TwiML; no signature, no storage.

Copied from ../shared/bench/bare_fastapi.py (the reference behind STYLE.md's "Measured facts"), reformatted
for this repository's ruff settings; behaviour unchanged.
"""

from fastapi import FastAPI, Request, Response

app = FastAPI()
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@app.post("/webhooks/twilio/messages")
async def messages(request: Request) -> Response:
    form = await request.form()
    _ = form.get("MessageSid")
    return Response(TWIML, media_type="text/xml")
