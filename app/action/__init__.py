"""Twilio actions and query operations, all run through one engine driven by the connector definition.

Module map (each owns one thing):
    template    an operation's templates rendered into one concrete request (pure)
    retry       when a failed Twilio call is tried again, and after how long (pure)
    client      HTTP to Twilio: auth, headers, timeouts, retries, Twilio's error JSON
    cursor      the opaque list cursor (Twilio's ``next_page_uri``, encoded)
    engine      resolve a resource operation, render it, call Twilio, map the answer through ``fields``
    actions     send_sms, send_whatsapp, call_phone, api_request on top of the engine
    api_path    the checks an ``api_request`` path must pass
    idempotency ``Idempotency-Key``: claim, complete, replay
    repository  SQL for ``idempotency_keys`` and ``number_connections``
    numbers     ``switchboard numbers connect|disconnect``
    catalog     ``GET /api/v1/resources``: every resource, its fields and operations
    schemas     request and response bodies
    router      ``/api/v1/actions/*`` and ``/api/v1/resources/*``
"""
