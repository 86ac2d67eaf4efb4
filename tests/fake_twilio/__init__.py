"""A local fake of Twilio's 2010-04-01 REST API for Switchboard's tests.

It validates every request against Twilio's OpenAPI spec (`tests/fixtures/twilio_api_v2010.json`),
keeps resources in memory, answers in Twilio's JSON (errors, paging), reproduces the test-credential
magic numbers, and lets tests inject faults and inspect requests. Start at `FakeTwilio`.

Module map (each owns one thing):
    spec        the OpenAPI document compiled into operations and collections
    params      query/form pairs with repeated keys
    validation  a request checked against its operation
    errors      Twilio's error JSON
    magic       test-credential magic numbers
    auth        HTTP Basic against accounts and API keys
    state       the in-memory store
    resources   building resource JSON from schemas; seeding handles
    behaviours  per-resource details of create
    listing     filters and paging
    handlers    generic create/list/fetch/update/delete
    journal     recorded requests and violations
    faults      injected failures
    app         the ASGI pipeline
    server      uvicorn on a real port in a thread
    fake        FakeTwilio, the test-facing API
    fixtures    pytest fixtures
"""

from .errors import TwilioError
from .fake import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio
from .faults import Fault
from .journal import RecordedRequest, Violation
from .magic import VALID_TEST_NUMBER
from .resources import HANDLES
from .spec import Spec

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "HANDLES",
    "VALID_TEST_NUMBER",
    "FakeTwilio",
    "Fault",
    "RecordedRequest",
    "Spec",
    "TwilioError",
    "Violation",
]
