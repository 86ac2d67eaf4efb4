"""The loaded definitions, indexed the ways the service asks: webhook by path, trigger list, resource."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from app.connector.loader import load_dir
from app.connector.mapping import Mapper, compile_fields
from app.connector.schema import ConnectorDef, ResourceDef, WebhookDef


@dataclass(frozen=True)
class Webhook:
    """One inbound route and the event it produces."""

    connector: ConnectorDef
    resource: ResourceDef
    definition: WebhookDef

    @property
    def event_type(self) -> str:
        return f"{self.resource.handle}/{self.definition.event}"

    @property
    def path(self) -> str:
        return self.definition.path

    @cached_property
    def map_payload(self) -> Mapper:
        """The payload fields' mapping, compiled once per route."""
        return compile_fields(self.definition.payload)


class Registry:
    def __init__(self, connectors: list[ConnectorDef]):
        self.connectors = {c.handle: c for c in connectors if c.status == "active"}
        self.webhooks: dict[str, Webhook] = {}
        for connector in self.connectors.values():
            for resource in connector.resources:
                for webhook in resource.webhooks:
                    self.webhooks[webhook.path] = Webhook(connector, resource, webhook)
        self.event_types = {w.event_type: w for w in self.webhooks.values()}

    @classmethod
    def from_dir(cls, folder: Path) -> Registry:
        return cls(list(load_dir(folder).values()))

    def resource(self, connector: str, handle: str) -> ResourceDef | None:
        definition = self.connectors.get(connector)
        if definition is None:
            return None
        return next((r for r in definition.resources if r.handle == handle), None)
