"""Application errors: each carries its HTTP status and a stable code; one handler renders them all.

AppError
├── BadRequest (400)          ├── NotFound (404)       ├── Conflict (409)
├── Unauthorized (401)        ├── MethodNotAllowed (405)
├── PayloadTooLarge (413)     ├── UnsupportedMediaType (415)
├── Unprocessable (422)       ├── UpstreamUnavailable (502)
└── ServiceUnavailable (503)  └── TwilioError (Twilio's own status, code and more_info)
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class BadRequest(AppError):
    status_code, code = 400, "bad_request"


class Unauthorized(AppError):
    status_code, code = 401, "unauthorized"


class NotFound(AppError):
    status_code, code = 404, "not_found"


class MethodNotAllowed(AppError):
    status_code, code = 405, "method_not_allowed"


class Conflict(AppError):
    status_code, code = 409, "conflict"


class PayloadTooLarge(AppError):
    status_code, code = 413, "payload_too_large"


class UnsupportedMediaType(AppError):
    status_code, code = 415, "unsupported_media_type"


class Unprocessable(AppError):
    status_code, code = 422, "invalid_request"


class UpstreamUnavailable(AppError):
    status_code, code = 502, "upstream_unavailable"


class ServiceUnavailable(AppError):
    status_code, code = 503, "service_unavailable"


class TwilioError(AppError):
    """Twilio answered with an error: pass its status and code through to the caller."""

    code = "twilio_error"

    def __init__(self, status_code: int, message: str, twilio_code: int | None, more_info: str | None):
        super().__init__(message, extra={"twilio_code": twilio_code, "more_info": more_info})
        self.status_code = status_code
