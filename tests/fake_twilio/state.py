"""The fake's memory of Twilio resources: dicts keyed by collection, parent scope and SID.

Owns storage only (what a resource contains is `resources.py`'s job). A lock guards every access because
the ASGI app runs on the server thread while tests seed and inspect from their own thread. Reads return
copies so a test holding a resource cannot change the fake's state behind its back.
"""

import copy
import threading
from typing import Any

Resource = dict[str, Any]
Scope = tuple[str, ...]


class Store:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._data: dict[tuple[str, Scope], dict[str, Resource]] = {}

    def put(self, collection: str, scope: Scope, key: str, resource: Resource) -> None:
        with self._lock:
            self._data.setdefault((collection, scope), {})[key] = copy.deepcopy(resource)

    def get(self, collection: str, scope: Scope, key: str) -> Resource | None:
        with self._lock:
            found = self._data.get((collection, scope), {}).get(key)
            return copy.deepcopy(found) if found is not None else None

    def delete(self, collection: str, scope: Scope, key: str) -> bool:
        with self._lock:
            return self._data.get((collection, scope), {}).pop(key, None) is not None

    def items(self, collection: str, scope: Scope) -> list[tuple[str, Resource]]:
        """`(key, resource)` pairs in insertion order, which is the order lists are paged in."""
        with self._lock:
            return copy.deepcopy(list(self._data.get((collection, scope), {}).items()))

    def scan(self, collection: str) -> list[tuple[Scope, str, Resource]]:
        """Every resource of `collection` whatever its scope (e.g. an API key of any account)."""
        with self._lock:
            return [
                (scope, key, copy.deepcopy(resource))
                for (name, scope), resources in self._data.items()
                if name == collection
                for key, resource in resources.items()
            ]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
