"""Opaque page cursors for lists ordered newest first by (created_at, id)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from uuid import UUID

from functions.errors import Unprocessable


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
