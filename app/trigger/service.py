"""The trigger list, read from the connector registry (no database)."""

from __future__ import annotations

from app.connector.registry import Registry
from app.trigger.schemas import TriggerField, TriggerList, TriggerRead


def list_all(registry: Registry) -> TriggerList:
    triggers = [
        TriggerRead(
            event=webhook.event_type,
            connector=webhook.connector.handle,
            path=webhook.path,
            description=webhook.definition.description,
            fields=[
                TriggerField(name=field.name, type=field.type.value, description=field.meta.description)
                for field in webhook.definition.payload
            ],
        )
        for webhook in sorted(registry.webhooks.values(), key=lambda w: w.event_type)
    ]
    # Definitions declare a handful of triggers: one page always holds them all.
    return TriggerList(items=triggers, next_cursor=None)
