"""What Twilio fills in when it creates a resource, where the spec alone cannot say.

Owns one small hook per create operation. A hook completes the snake_case `fields` taken from the form
before the generic factory builds the resource; everything not mentioned here is generic.
"""

import math
import secrets
from collections.abc import Callable
from typing import Any

from .params import Params
from .resources import new_sid, now_rfc2822

Hook = Callable[[Params, str, dict[str, Any]], None]
"""(form, the authenticated account's SID, fields to complete)"""


def _message(form: Params, account_sid: str, fields: dict[str, Any]) -> None:
    media = form.getall("MediaUrl")
    fields["sid"] = new_sid("MM" if media else "SM")
    fields["num_media"] = str(len(media))
    fields["num_segments"] = str(max(1, math.ceil(len(form.get("Body") or "") / 160)))
    if form.get("ScheduleType") == "fixed":
        fields["status"] = "scheduled"
    elif not form.present("From"):
        fields["status"] = "accepted"  # a Messaging Service chooses the sender later


def _call(form: Params, account_sid: str, fields: dict[str, Any]) -> None:
    fields["to_formatted"] = fields.get("to")
    fields["from_formatted"] = fields.get("from")


def _incoming_number(form: Params, account_sid: str, fields: dict[str, Any]) -> None:
    area_code = form.get("AreaCode")
    if not form.present("PhoneNumber") and area_code:
        fields["phone_number"] = f"+1{area_code}555{secrets.randbelow(10_000):04d}"


def _account(form: Params, account_sid: str, fields: dict[str, Any]) -> None:
    fields["owner_account_sid"] = account_sid
    fields.setdefault("friendly_name", f"SubAccount Created at {now_rfc2822()}")


def _validation_request(form: Params, account_sid: str, fields: dict[str, Any]) -> None:
    fields["call_sid"] = new_sid("CA")  # the verification call Twilio places


CREATE_HOOKS: dict[str, Hook] = {
    "CreateMessage": _message,
    "CreateCall": _call,
    "CreateIncomingPhoneNumber": _incoming_number,
    "CreateIncomingPhoneNumberLocal": _incoming_number,
    "CreateIncomingPhoneNumberMobile": _incoming_number,
    "CreateIncomingPhoneNumberTollFree": _incoming_number,
    "CreateAccount": _account,
    "CreateValidationRequest": _validation_request,
}

# Creates whose answer is not stored: a validation request becomes an outgoing caller ID only once the
# verification call succeeds, and a token is not a listable resource.
TRANSIENT = frozenset({"CreateValidationRequest", "CreateToken"})
