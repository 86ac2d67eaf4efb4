"""Twilio's test-credential magic numbers (PROTOCOL.md section 6), as a table of rules.

Owns which `(operation, parameter, number)` fails with which Twilio code, HTTP status and message. The
fake applies them whatever credentials are used, so tests can drive every error path of the client.
Numbers are compared after a `whatsapp:` prefix is removed. Rules are checked in table order (sender
before recipient), and any other number passes.
"""

from dataclasses import dataclass

from .errors import TwilioError
from .params import Params

VALID_TEST_NUMBER = "+15005550006"


@dataclass(frozen=True, slots=True)
class Rule:
    param: str
    value: str
    code: int
    message: str
    status: int = 400


_MESSAGE = (
    Rule(
        "From",
        "+15005550001",
        21212,
        "The 'From' number {n} is not a valid phone number, shortcode, or alphanumeric sender ID.",
    ),
    Rule(
        "From",
        "+15005550007",
        21606,
        "The From phone number {n} is not a valid, SMS-capable inbound phone number or short code "
        "for your account.",
    ),
    # Observed on the wire: a full queue is a 429, not a 400.
    Rule("From", "+15005550008", 21611, "SMS queue is full.", status=429),
    Rule("To", "+15005550001", 21211, "The 'To' number {n} is not a valid phone number."),
    Rule("To", "+15005550002", 21612, "The 'To' phone number: {n}, is not currently reachable via SMS."),
    Rule(
        "To",
        "+15005550003",
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {n}.",
    ),
    Rule("To", "+15005550004", 21610, "Attempt to send to unsubscribed recipient"),
    Rule("To", "+15005550009", 21614, "To number: {n}, is not a mobile number"),
)

_CALL = (
    Rule(
        "From",
        "+15005550001",
        21212,
        "The 'From' number {n} is not a valid phone number, shortcode, or alphanumeric sender ID.",
    ),
    Rule("To", "+15005550001", 21217, "Phone number {n} does not appear to be valid"),
    Rule("To", "+15005550002", 21214, "'To' phone number {n} cannot be reached"),
    Rule(
        "To",
        "+15005550003",
        21215,
        "Account not authorized to call {n}. Perhaps you need to enable some international permissions.",
    ),
    Rule("To", "+15005550004", 21216, "Account not allowed to call {n}"),
)

_INCOMING_NUMBER = (
    Rule("PhoneNumber", "+15005550000", 21422, "PhoneNumber {n} is not available."),
    Rule("PhoneNumber", "+15005550001", 21421, "PhoneNumber {n} is invalid."),
    Rule("AreaCode", "533", 21452, "No phone numbers found in area code {n}."),
)

RULES: dict[str, tuple[Rule, ...]] = {
    "CreateMessage": _MESSAGE,
    "CreateCall": _CALL,
    "CreateIncomingPhoneNumber": _INCOMING_NUMBER,
    "CreateIncomingPhoneNumberLocal": _INCOMING_NUMBER,
    "CreateIncomingPhoneNumberMobile": _INCOMING_NUMBER,
    "CreateIncomingPhoneNumberTollFree": _INCOMING_NUMBER,
}


def strip_channel(number: str) -> str:
    """`whatsapp:+15005550009` -> `+15005550009`: Twilio validates the address behind the channel."""
    return number.split(":", 1)[1] if number.startswith("whatsapp:") else number


def check(operation_id: str, form: Params) -> None:
    """Raise the Twilio error a magic number in `form` triggers for this operation, if any."""
    for rule in RULES.get(operation_id, ()):
        sent = form.get(rule.param)
        if sent is not None and strip_channel(sent) == rule.value:
            number = strip_channel(sent)
            raise TwilioError(rule.status, rule.code, rule.message.format(n=number))
