"""Webhook requests shaped like Twilio's real ones (PROTOCOL.md section 2), signed as Twilio signs them.

Used by ``switchboard simulate`` and by the tests: the parameter sets are what Twilio sends for an
inbound SMS/MMS/WhatsApp message, an inbound call, and the two status callbacks.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

KINDS = ("message", "call", "message-status", "call-status")


def sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


_GEO = {
    "FromCity": "SAN FRANCISCO", "FromState": "CA", "FromZip": "94105", "FromCountry": "US",
    "ToCity": "OAKLAND", "ToState": "CA", "ToZip": "94612", "ToCountry": "US",
}  # fmt: skip


@dataclass
class Options:
    account_sid: str
    sender: str = "+14155552671"
    recipient: str = "+15005550006"
    body: str = "Hello from Switchboard"
    sid: str | None = None
    status: str | None = None
    media: Sequence[str] = field(default_factory=list)
    whatsapp: bool = False
    sequence: int = 0


def _address(number: str, whatsapp: bool) -> str:
    return number if not whatsapp or number.startswith("whatsapp:") else f"whatsapp:{number}"


def message(o: Options) -> dict[str, str]:
    message_sid = o.sid or sid("MM" if o.media else "SM")
    params = {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": message_sid, "NumMedia": str(len(o.media)),
        "ToCity": "OAKLAND", "FromZip": "94105", "SmsSid": message_sid, "FromState": "CA",
        "SmsStatus": "received", "FromCity": "SAN FRANCISCO", "Body": o.body, "FromCountry": "US",
        "To": _address(o.recipient, o.whatsapp), "ToZip": "94612", "NumSegments": "1",
        "ReferralNumMedia": "0", "MessageSid": message_sid, "AccountSid": o.account_sid,
        "From": _address(o.sender, o.whatsapp), "ApiVersion": "2010-04-01",
    }  # fmt: skip
    for index, url in enumerate(o.media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = "image/jpeg"
    if o.whatsapp:
        for key in (
            "ToCountry",
            "ToState",
            "ToCity",
            "ToZip",
            "FromZip",
            "FromState",
            "FromCity",
            "FromCountry",
        ):
            params.pop(key)  # WhatsApp carries no carrier geo data
        params["ProfileName"] = "Ada"
        params["WaId"] = o.sender.removeprefix("whatsapp:").removeprefix("+")
        params["MessageType"] = "image" if o.media else "text"
        params["ChannelMetadata"] = '{"type":"whatsapp","data":{"context":{"ProfileName":"Ada"}}}'
    return params


def call(o: Options) -> dict[str, str]:
    params = {
        "AccountSid": o.account_sid, "ApiVersion": "2010-04-01", "CallSid": o.sid or sid("CA"),
        "CallStatus": o.status or "ringing", "CallToken": "%7B%22parentCallInfoToken%22%3A%22eyJ%22%7D",
        "Called": o.recipient, "Caller": o.sender, "Direction": "inbound",
        "From": o.sender, "To": o.recipient,
        "CalledCity": "OAKLAND", "CalledState": "CA", "CalledZip": "94612", "CalledCountry": "US",
        "CallerCity": "SAN FRANCISCO", "CallerState": "CA", "CallerZip": "94105", "CallerCountry": "US",
        "StirVerstat": "TN-Validation-Passed-A", **_GEO,
    }  # fmt: skip
    return params


def message_status(o: Options) -> dict[str, str]:
    message_sid = o.sid or sid("SM")
    status = o.status or "delivered"
    params = {
        "AccountSid": o.account_sid, "ApiVersion": "2010-04-01", "From": _address(o.sender, o.whatsapp),
        "To": _address(o.recipient, o.whatsapp), "MessageSid": message_sid, "SmsSid": message_sid,
        "MessageStatus": status, "SmsStatus": status,
    }  # fmt: skip
    if status in ("delivered", "undelivered") and not o.whatsapp:
        params["RawDlrDoneDate"] = "2612031800"
    if status in ("failed", "undelivered"):
        params["ErrorCode"] = "30003"
    if o.whatsapp:
        params["ChannelPrefix"] = "whatsapp"
        params["ChannelInstallSid"] = sid("XE")
    return params


def call_status(o: Options) -> dict[str, str]:
    params = call(o)
    status = o.status or "completed"
    params.update(
        CallStatus=status, CallbackSource="call-progress-events", SequenceNumber=str(o.sequence),
        Timestamp="Thu, 03 Dec 2026 18:00:00 +0000",
    )  # fmt: skip
    params.pop("CallToken")
    if status == "completed":
        params.update(CallDuration="42", Duration="1", SipResponseCode="200")
    return params


BUILDERS = {"message": message, "call": call, "message-status": message_status, "call-status": call_status}


@dataclass(frozen=True)
class SignedRequest:
    url: str
    body: str
    headers: dict[str, str]
    params: dict[str, str]


def build(kind: str, url: str, auth_token: str, options: Options) -> SignedRequest:
    params = BUILDERS[kind](options)
    signature = RequestValidator(auth_token).compute_signature(url, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        "X-Home-Region": "us1",
    }
    return SignedRequest(url, urlencode(params), headers, params)
