"""Twilio's error answers: the `{code, message, more_info, status}` JSON and the codes the fake uses.

Owns the one exception the fake raises for any Twilio-shaped failure, and constructors for the generic
codes (the resource-specific magic-number codes live in `magic.py`).
"""

from dataclasses import dataclass, field
from typing import Any

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"

# Twilio's generic codes, chosen per HTTP status when a test injects a fault without naming one.
DEFAULT_CODES: dict[int, int] = {
    400: 20001,
    401: 20003,
    404: 20404,
    405: 20004,
    429: 20429,
    500: 20500,
    503: 20503,
}
DEFAULT_MESSAGES: dict[int, str] = {
    400: "Bad request",
    401: "Authenticate",
    404: "The requested resource was not found",
    405: "Method not allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(eq=False)  # exceptions compare and hash by identity
class TwilioError(Exception):
    """A failure answered with Twilio's error JSON; `headers` carry e.g. `Retry-After`."""

    status: int
    code: int | None
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": MORE_INFO.format(code=self.code) if self.code is not None else None,
            "status": self.status,
        }


def not_found(path: str) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def authenticate() -> TwilioError:
    return TwilioError(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})


def method_not_allowed(method: str, allowed: list[str]) -> TwilioError:
    return TwilioError(405, 20004, f"Method not allowed: {method}", {"Allow": ", ".join(allowed)})


def unsupported_media_type(content_type: str) -> TwilioError:
    # Twilio has no error code for this; the spec only declares application/x-www-form-urlencoded bodies.
    return TwilioError(
        415, None, f"Unsupported Media Type {content_type!r}: send application/x-www-form-urlencoded"
    )


def bad_request(message: str, code: int = 20001) -> TwilioError:
    return TwilioError(400, code, message)
