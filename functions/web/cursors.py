"""Opaque page cursors, and the pages they walk, for lists ordered newest first by (created_at, id)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from functions.web.errors import Unprocessable


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    """The cursor of the page after the row (`created_at`, `row_id`)."""
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The row a cursor points after, or 422 naming `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, row_id = raw.partition("|")
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, UUID(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Unprocessable("cursor: not a cursor this API returned", field="cursor") from None


Row = TypeVar("Row", bound=Mapping[str, Any])


def page_filter(
    conditions: Sequence[tuple[str, object | None]], cursor: str | None, *, alias: str = ""
) -> tuple[str, list[Any]]:
    """A newest-first page's `where` clause and its values.

    Conditions with a None value are left out. A cursor is decoded (422 when it is not ours) and
    adds the rows after it. `alias` prefixes `created_at` and `id` (e.g. "d.").
    """
    clauses = ["true"]
    values: list[Any] = []
    for clause, value in conditions:
        if value is not None:
            clauses.append(clause)
            values.append(value)
    if cursor:
        clauses.append(f"({alias}created_at, {alias}id) < (%s, %s)")
        values.extend(decode_cursor(cursor))
    return " and ".join(clauses), values


def split_page(rows: Sequence[Row], limit: int) -> tuple[list[Row], str | None]:
    """The page of `rows` fetched with `limit + 1`, and the next page's cursor when there is one."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    return page, encode_cursor(page[-1]["created_at"], page[-1]["id"])
