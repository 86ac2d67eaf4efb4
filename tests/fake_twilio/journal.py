"""What happened: every request the fake received, and every one the spec says Twilio would reject.

Owns the `RecordedRequest` and `Violation` records tests assert on, and the lists holding them.
"""

import threading
from dataclasses import dataclass


@dataclass
class RecordedRequest:
    """One request as it arrived. `query` and `form` keep repeated keys (`MediaUrl` twice = two pairs)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    operation_id: str | None = None
    status: int | None = None  # filled in once answered

    def form_values(self, name: str) -> list[str]:
        return [value for key, value in self.form if key == name]

    def query_values(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]


@dataclass(frozen=True)
class Violation:
    """A request Twilio's spec rejects; `problems` lists every reason found, first one answered."""

    method: str
    path: str
    operation_id: str | None
    status: int
    problems: tuple[str, ...]

    def __str__(self) -> str:
        where = self.operation_id or "no spec operation"
        return f"{self.method} {self.path} ({where}) -> {self.status}: {'; '.join(self.problems)}"


class Journal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def violate(self, violation: Violation) -> None:
        with self._lock:
            self.violations.append(violation)

    def clear(self) -> None:
        # Cleared in place: a test may hold a reference to `fake.requests`.
        with self._lock:
            self.requests.clear()
            self.violations.clear()
