"""Models every API module shares: the error body, timestamps as the event envelope writes them, lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from app.event.envelope import isoformat

# Always microseconds and "Z", the way forwarded events carry `received_at`: one format across the API.
Timestamp = Annotated[
    datetime,
    PlainSerializer(isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-12-03T18:00:00.123456Z"]}),
]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(examples=["not_found"], description="Stable, machine-readable")
    message: str = Field(description="For humans; may change between versions")


class ErrorResponse(BaseModel):
    """Every error the API returns, whatever the status."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, malformed or unknown bearer token",
    404: "No such object",
    409: "The object is not in a state that allows this",
    422: "The request is well-formed but invalid; the message names the field",
    503: "The database is unavailable; try again",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status documented with the contract's error body."""
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of a list, newest first. Subclass it per item type so OpenAPI names it well."""

    items: list[ItemT]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next (older) page; null on the last page"
    )
