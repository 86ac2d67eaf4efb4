"""Standard Webhooks signing of outbound deliveries: secrets, signatures and the request headers.

Wire format (contract section 6, https://www.standardwebhooks.com/): the signed content is
``f"{msg_id}.{timestamp}."`` followed by the exact body bytes, HMAC-SHA256 keyed with the base64-decoded
part of a ``whsec_…`` secret, sent as ``v1,<base64 digest>``. During a secret rotation both secrets sign
and the signatures are space-separated, so receivers holding either secret verify.
"""

import base64
import functools
import hashlib
import hmac
from collections.abc import Sequence
from importlib import metadata
from secrets import token_bytes

__all__ = ["SECRET_PREFIX", "USER_AGENT", "build_headers", "new_secret", "sign", "signature_header"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
# 32 bytes = 256 bits, HMAC-SHA256's own strength; Standard Webhooks asks for 24 to 64.
_SECRET_BYTES = 32


def _version() -> str:
    try:
        return metadata.version("switchboard")
    except metadata.PackageNotFoundError:
        # Running from a source checkout that was never pip-installed.
        return "0+unknown"


USER_AGENT = f"Switchboard/{_version()}"


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(_SECRET_BYTES)).decode("ascii")


@functools.lru_cache(maxsize=1024)  # one decode per secret, not one per delivery
def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # validate=True: a mangled secret must fail loudly, not sign with whatever bytes survive.
        key = base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise ValueError("webhook secret is not valid base64 after its 'whsec_' prefix") from exc
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, f"{msg_id}.{timestamp}." + body)>`` for one secret."""
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed_content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per active secret, space-separated."""
    if not secrets:
        raise ValueError("at least one webhook secret is needed to sign a delivery")
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets)


def build_headers(*, secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header of a delivery request (contract section 6).

    ``msg_id`` is the delivery's id, the same on every retry, so receivers can deduplicate;
    ``timestamp`` is the attempt's Unix time in seconds (receivers reject ones older than ~5 minutes).
    ``body`` must be the exact bytes that will be sent.
    """
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "user-agent": USER_AGENT,
    }
