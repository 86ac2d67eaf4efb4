"""Cursor pagination: ``?limit=`` and an opaque ``?cursor=`` over time-ordered ids, newest first.

A cursor is the URL-safe base64 of the last id on the previous page; the next page holds the ids
below it (``id < cursor_id``, ordered by id descending). Ids are time-ordered (``app.ids``), so the
order is newest first, and because ids never change, rows created while a client pages through do
not shift its pages: nothing is skipped or repeated.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Query

from app import ids
from app.errors import Unprocessable

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

RowT = TypeVar("RowT")


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    before: str | None  # the id the page starts below; None for the first page


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, prefix: str) -> str:
    """The id inside ``cursor``; raises Unprocessable unless it is an id of this list's kind."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        last_id = raw.decode("ascii")
    except (binascii.Error, ValueError):
        raise Unprocessable("query.cursor: not a cursor this API returned") from None
    # A cursor from another list (an event id while listing deliveries) would page silently wrong.
    if not ids.is_id(last_id, prefix):
        raise Unprocessable("query.cursor: not a cursor for this list") from None
    return last_id


def pagination(prefix: str) -> Callable[..., PageRequest]:
    """A dependency reading ``limit`` and ``cursor`` for a list of ``prefix_…`` ids."""

    def page_request(
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (1 to {MAX_LIMIT})")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Query(max_length=200, description="`next_cursor` of the previous page; omit for the first"),
        ] = None,
    ) -> PageRequest:
        return PageRequest(limit=limit, before=decode_cursor(cursor, prefix) if cursor else None)

    return page_request


def page_of(
    rows: Sequence[RowT], page: PageRequest, id_of: Callable[[RowT], str]
) -> tuple[list[RowT], str | None]:
    """Split rows fetched with ``limit + 1`` into this page and the cursor of the next (None: last page)."""
    items = list(rows[: page.limit])
    more = len(rows) > page.limit
    return items, encode_cursor(id_of(items[-1])) if more and items else None
