"""Which enabled subscriptions want an event: its type is in ``events`` and it passes ``filter``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.event.envelope import Event
from app.subscription.filter import Filter, parse_filter


@dataclass(frozen=True, slots=True)
class Target:
    id: str
    events: frozenset[str]
    filter: Filter | None

    def wants(self, event: Event) -> bool:
        """Its type is listed and its filter (if any) passes. The envelope a filter reads is built only
        then: most subscriptions name event types only, and an envelope per event per ingest batch
        showed in the writer's profile."""
        return event.type in self.events and (self.filter is None or self.filter.matches(event.envelope()))


def pairs(events: Sequence[Event], targets: Sequence[Target]) -> list[tuple[str, str]]:
    """(event id, subscription id) for each target that wants each event."""
    return [(event.id, target.id) for event in events for target in targets if target.wants(event)]


class Matcher:
    """Compiles each subscription's filter once and reuses it until the subscription changes."""

    def __init__(self) -> None:
        self._compiled: dict[tuple[str, datetime], Target] = {}

    def targets(self, rows: Sequence[Any]) -> list[Target]:
        targets, fresh = [], {}
        for row in rows:
            key = (row.id, row.updated_at)
            target = self._compiled.get(key)
            if target is None:
                # Filters were validated when saved; a row edited by hand that no longer parses
                # matches nothing rather than breaking ingestion for every other subscription.
                try:
                    parsed = parse_filter(row.filter) if row.filter else None
                except ValueError:
                    continue
                target = Target(row.id, frozenset(row.events), parsed)
            fresh[key] = target
            targets.append(target)
        self._compiled = fresh
        return targets
