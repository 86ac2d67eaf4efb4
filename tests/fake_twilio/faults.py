"""Injected failures: "the next N matching requests fail like this", for testing client retries.

Owns the queue of armed faults. A fault is taken before routing, authentication and validation, like a
Twilio edge answering 429 or 503 before the request is processed (such requests are safe to retry).
"""

import threading
from dataclasses import dataclass, field

from .errors import DEFAULT_CODES, DEFAULT_MESSAGES, TwilioError


@dataclass
class Fault:
    status: int
    code: int | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    method: str | None = None
    path: str | None = None
    delay: float = 0.0
    raw_body: bytes | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or self.path in path
        )

    def error(self) -> TwilioError:
        code = self.code if self.code is not None else DEFAULT_CODES.get(self.status)
        message = self.message or DEFAULT_MESSAGES.get(self.status, "Injected failure")
        return TwilioError(self.status, code, message, dict(self.headers))


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        if fault.times < 1:
            raise ValueError("a fault must fire at least once")
        with self._lock:
            self._armed.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, used up once; armed order decides ties."""
        with self._lock:
            for fault in self._armed:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._armed.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
