"""``GET /api/v1/resources``: each resource of the Twilio definition, what it maps and how to call it."""

from __future__ import annotations

from typing import Literal

from app.action.engine import TWILIO, Kind
from app.action.schemas import (
    FieldRead,
    OperationRead,
    ParameterRead,
    ResourceCatalog,
    ResourceRead,
)
from app.connector.registry import Registry
from app.connector.schema import PLACEHOLDER, OperationDef, ParamsTemplate, ResourceDef

PREFIX = "/api/v1/resources"

# Our route for each operation; `sid` is in our URL, other path placeholders go where the parameters go.
ROUTES: dict[Kind, tuple[str, str]] = {
    Kind.LIST: ("GET", PREFIX + "/{handle}"),
    Kind.READ: ("GET", PREFIX + "/{handle}/{sid}"),
    Kind.CREATE: ("POST", PREFIX + "/{handle}"),
    Kind.UPDATE: ("POST", PREFIX + "/{handle}/{sid}"),
    Kind.DELETE: ("DELETE", PREFIX + "/{handle}/{sid}"),
}
_IN_BODY = frozenset({Kind.CREATE, Kind.UPDATE})
Location = Literal["path", "query", "body"]


def catalog(registry: Registry) -> ResourceCatalog:
    connector = registry.connectors.get(TWILIO)
    resources = connector.resources if connector is not None else []
    return ResourceCatalog(items=[describe(resource, TWILIO) for resource in resources], next_cursor=None)


def describe(resource: ResourceDef, connector: str) -> ResourceRead:
    operations = []
    for kind in Kind:
        definition: OperationDef | None = getattr(resource.operations, kind.value)
        if definition is not None:
            operations.append(_operation(resource.handle, kind, definition))
    return ResourceRead(
        handle=resource.handle,
        connector=connector,
        description=resource.meta.description,
        fields=[
            FieldRead(name=f.name, type=f.type.value, description=f.meta.description) for f in resource.fields
        ],
        operations=operations,
    )


def _operation(handle: str, kind: Kind, definition: OperationDef) -> OperationRead:
    method, route = ROUTES[kind]
    # Path placeholders other than `sid` travel with the other parameters of our route.
    parameter_place: Location = "body" if kind in _IN_BODY else "query"
    parameters = [
        ParameterRead(
            name=p.name,
            type=p.type.value,
            required=True,
            location="path" if p.name == "sid" else parameter_place,
            twilio_name=None,
            description=p.description,
        )
        for p in definition.path.placeholders
    ]
    one_of: list[list[str]] = []
    places: tuple[tuple[ParamsTemplate | None, Location], ...] = (
        (definition.query_params, "query"),
        (definition.body_template, "body"),
    )
    for template, place in places:
        if template is None:
            continue
        twilio_names = {
            match.group(1): key
            for key, text in template.value.items()
            for match in [PLACEHOLDER.fullmatch(text.strip())]
            if match is not None
        }
        parameters.extend(
            ParameterRead(
                name=p.name,
                type=p.type.value,
                required=p.required,
                location=place,
                twilio_name=twilio_names.get(p.name),
                description=p.description,
            )
            for p in template.placeholders
        )
        one_of.extend(template.one_of)
    return OperationRead(
        name=kind.value,
        method=method,
        path=route.replace("{handle}", handle),
        twilio_method=definition.method,
        twilio_path=definition.path.value,
        parameters=parameters,
        one_of=one_of,
    )
