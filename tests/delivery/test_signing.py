"""Standard Webhooks signing, checked with the `standardwebhooks` reference library."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from app.delivery.signing import USER_AGENT, build_headers, new_secret, sign, signature_header

BODY = json.dumps({"id": "evt_1", "type": "messages/message_received", "data": {"body": "Hello"}}).encode()


def test_new_secret_is_whsec_prefixed_base64_of_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_sign_matches_the_standard_webhooks_spec_example() -> None:
    # The worked example of the Standard Webhooks specification (spec/standard-webhooks.md).
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@given(
    msg_id=st.text(min_size=1, max_size=40),
    timestamp=st.integers(min_value=0, max_value=2**33),
    body=st.text(max_size=200),
)
def test_sign_agrees_with_the_reference_library(msg_id: str, timestamp: int, body: str) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    expected = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, tz=UTC), body)
    assert sign(secret, msg_id, timestamp, body.encode()) == expected


def test_headers_carry_the_contract_fields() -> None:
    secret = new_secret()
    headers = build_headers(secrets=[secret], msg_id="dlv_1", timestamp=1_700_000_000, body=BODY)
    assert headers == {
        "content-type": "application/json",
        "webhook-id": "dlv_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": sign(secret, "dlv_1", 1_700_000_000, BODY),
        "user-agent": USER_AGENT,
    }
    assert USER_AGENT.startswith("Switchboard/")


@pytest.mark.parametrize("receiver_holds", [0, 1], ids=["old-secret", "new-secret"])
def test_during_rotation_a_receiver_with_either_secret_verifies(receiver_holds: int) -> None:
    rotation = [new_secret(), new_secret()]
    headers = build_headers(secrets=rotation, msg_id="dlv_1", timestamp=int(time.time()), body=BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(rotation[receiver_holds]).verify(BODY, headers) == json.loads(BODY)


def test_a_tampered_body_fails_verification() -> None:
    secret = new_secret()
    headers = build_headers(secrets=[secret], msg_id="dlv_1", timestamp=int(time.time()), body=BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"Hello", b"Hellp"), headers)


def test_a_different_secret_fails_verification() -> None:
    headers = build_headers(secrets=[new_secret()], msg_id="dlv_1", timestamp=int(time.time()), body=BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_signature_header_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one"):
        signature_header([], "dlv_1", 1, BODY)


@pytest.mark.parametrize(
    "secret", ["whsec_not base64!", "whsec_", "whsec_abc"], ids=["not-base64", "empty", "bad-padding"]
)
def test_a_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        sign(secret, "dlv_1", 1, BODY)
