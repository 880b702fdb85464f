"""`/api/discord/channels…`: an admin's Discord webhook channels, through row-level security.

Webhook URLs are validated by shape, then checked live with Discord before anything is stored;
responses show them masked, never with the token.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

import psycopg
from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable
from functions.web.requests import parse_body
from shared.auth import VerifiedToken
from shared.db import service_tx, user_tx
from shared.delivery.dispatch import default_engine, dispatch_after_commit
from shared.delivery.outbox import DeliveryOut, enqueue_deliveries, get_deliveries
from shared.discord.check_message import check_payload
from shared.discord.errors import DiscordUnavailable, InvalidWebhookUrl, WebhookRejected
from shared.discord.webhook_url import WebhookRef, mask_webhook, parse_webhook_url
from shared.identifiers import IdentifierError, display_name

if TYPE_CHECKING:
    from shared.discord.client import DiscordWebhook

bp = Blueprint("discord", __name__)

Action = Literal["load", "enter", "update", "exit", "signal"]

_TAG = "discord"
_CHANNEL_COLUMNS = (
    "id, name, webhook_id, guild_id, discord_channel_id, is_active, is_global_default, default_for,"
    " created_at, updated_at, last_ok_at, last_error"
)


def _valid_url(value: str) -> str:
    try:
        return parse_webhook_url(value).canonical_url
    except InvalidWebhookUrl as error:
        raise ValueError(error.message) from None


def _valid_name(value: str) -> str:
    try:
        return display_name(value)
    except IdentifierError as error:
        raise ValueError(str(error)) from None


class ChannelCreate(BaseModel):
    """Body of `POST /api/discord/channels`."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    webhook_url: str = Field(max_length=512, description="https://discord.com/api/webhooks/<id>/<token>")
    is_global_default: bool = False
    default_for: list[Action] = Field(default_factory=list, max_length=5)

    _name = field_validator("name")(_valid_name)
    _url = field_validator("webhook_url")(_valid_url)

    @field_validator("default_for")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class ChannelUpdate(BaseModel):
    """Body of `PATCH /api/discord/channels/<id>`: only the fields given change."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    webhook_url: str | None = Field(default=None, max_length=512)
    is_active: bool | None = None
    is_global_default: bool | None = None
    default_for: list[Action] | None = Field(default=None, max_length=5)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return _valid_name(value) if value is not None else None

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _valid_url(value) if value is not None else None

    @field_validator("default_for")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return list(dict.fromkeys(value)) if value is not None else None

    @model_validator(mode="after")
    def _something(self) -> ChannelUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class ChannelOut(BaseModel):
    """A channel as the API shows it: the webhook URL masked, never its token."""

    model_config = ConfigDict(defer_build=True)

    id: UUID
    name: str
    webhook_url: str = Field(description="masked: https://discord.com/api/webhooks/1234…/****")
    guild_id: str | None
    discord_channel_id: str | None
    is_active: bool
    is_global_default: bool
    default_for: list[Action]
    created_at: datetime
    updated_at: datetime
    last_ok_at: datetime | None
    last_error: str | None


class ChannelList(BaseModel):
    """Answer of `GET /api/discord/channels`."""

    model_config = ConfigDict(defer_build=True)

    channels: list[ChannelOut]


class DeliveryAnswer(BaseModel):
    """Answer of the test and retry routes: the delivery, usually already `sent`."""

    model_config = ConfigDict(defer_build=True)

    delivery: DeliveryOut


def channel_view(row: dict[str, Any]) -> ChannelOut:
    """A channel row as the API shows it: the webhook masked, never its token."""
    return ChannelOut.model_validate({**row, "webhook_url": mask_webhook(row["webhook_id"])})


def check_webhook(ref: WebhookRef) -> DiscordWebhook:
    """Ask Discord about the webhook: 422 when it is gone or refused, 503 when Discord cannot answer."""
    try:
        webhook = default_engine().client.get_webhook(ref)
    except WebhookRejected as error:
        raise Unprocessable(error.message, field="webhook_url", code="webhook_rejected") from None
    except DiscordUnavailable as error:
        wait = max(1, math.ceil(error.retry_after_s))
        raise ServiceUnavailable(
            f"{error.message}; nothing was stored, try again in {wait} s",
            code="discord_unavailable",
            headers={"Retry-After": str(wait)},
            details={"retry_after_s": wait},
        ) from None
    if webhook.id != ref.webhook_id:
        raise Unprocessable("Discord describes a different webhook", field="webhook_url", code="webhook_rejected")
    return webhook


def _conflict(error: psycopg.errors.UniqueViolation) -> Conflict:
    constraint = error.diag.constraint_name or ""
    if "global_default" in constraint:
        return Conflict("another channel just became the global default", field="is_global_default")
    return Conflict("you already have a channel with this name", field="name", code="duplicate")


def _load(conn: psycopg.Connection[Any], channel_id: UUID, *, lock: bool = False) -> dict[str, Any]:
    query = f"select {_CHANNEL_COLUMNS} from discord_channels where id = %s"  # noqa: S608 - fixed columns
    row = conn.execute(query + (" for no key update" if lock else ""), (channel_id,)).fetchone()
    if row is None:
        raise NotFound("channel not found", field="channel_id")
    return dict(row)


def _check_name_free(conn: psycopg.Connection[Any], name: str, channel_id: UUID | None) -> None:
    """409 before anything asks Discord when another of the admin's channels has this name.

    The unique constraint still decides a race between two requests (see `_conflict`).
    """
    taken = conn.execute(
        "select 1 from discord_channels where name = %s and id is distinct from %s", (name, channel_id)
    ).fetchone()
    if taken is not None:
        raise Conflict("you already have a channel with this name", field="name", code="duplicate")


def _clear_global_default(conn: psycopg.Connection[Any], except_id: UUID | None) -> None:
    conn.execute(
        "update discord_channels set is_global_default = false, updated_at = now()"
        " where is_global_default and id is distinct from %s",
        (except_id,),
    )


@bp.get("/api/discord/channels")
@openapi.operation(summary="The admin's Discord channels", tag=_TAG, response=ChannelList)
@requires_user
def list_channels() -> ChannelList:
    with user_tx(current_user()) as conn:
        rows = conn.execute(
            f"select {_CHANNEL_COLUMNS} from discord_channels order by created_at, id"  # noqa: S608
        ).fetchall()
    return ChannelList(channels=[channel_view(dict(row)) for row in rows])


@bp.get("/api/discord/channels/<uuid:channel_id>")
@openapi.operation(summary="One channel", tag=_TAG, response=ChannelOut)
@requires_user
def get_channel(channel_id: UUID) -> ChannelOut:
    with user_tx(current_user()) as conn:
        return channel_view(_load(conn, channel_id))


@bp.post("/api/discord/channels")
@openapi.operation(
    summary="Add a channel: the webhook URL is checked live with Discord", tag=_TAG, response=ChannelOut,
    status=201, body=ChannelCreate, errors=(409,),
)
@requires_user
def create_channel() -> ChannelOut:
    body = parse_body(ChannelCreate)
    ref = parse_webhook_url(body.webhook_url)
    with user_tx(current_user()) as conn:
        _check_name_free(conn, body.name, None)
    webhook = check_webhook(ref)
    try:
        with user_tx(current_user()) as conn:
            if body.is_global_default:
                _clear_global_default(conn, None)
            row = conn.execute(
                "insert into discord_channels (name, webhook_id, webhook_token, guild_id, discord_channel_id,"  # noqa: S608
                " is_global_default, default_for) values (%s, %s, %s, %s, %s, %s, %s)"
                f" returning {_CHANNEL_COLUMNS}",
                (
                    body.name,
                    ref.webhook_id,
                    ref.token,
                    webhook.guild_id,
                    webhook.channel_id,
                    body.is_global_default,
                    list(body.default_for),
                ),
            ).fetchone()
    except psycopg.errors.UniqueViolation as error:
        raise _conflict(error) from None
    assert row is not None
    return channel_view(dict(row))


def _stored_ref(user: VerifiedToken, channel_id: UUID) -> WebhookRef:
    """The channel's webhook, read as service_role but only for its owner (tokens are not user-readable)."""
    with service_tx() as conn:
        row = conn.execute(
            "select webhook_id, webhook_token from discord_channels where id = %s and user_id = %s",
            (channel_id, user.user_id),
        ).fetchone()
    if row is None:
        raise NotFound("channel not found", field="channel_id")
    return WebhookRef(row["webhook_id"], row["webhook_token"])


@bp.patch("/api/discord/channels/<uuid:channel_id>")
@openapi.operation(
    summary="Rename, set defaults, change the webhook (checked live) or (re)activate", tag=_TAG,
    response=ChannelOut, body=ChannelUpdate, errors=(409,),
)
@requires_user
def update_channel(channel_id: UUID) -> ChannelOut:
    body = parse_body(ChannelUpdate)
    user = current_user()
    with user_tx(user) as conn:
        current = _load(conn, channel_id)
        if body.name is not None:
            _check_name_free(conn, body.name, channel_id)
    changes: dict[str, Any] = {}
    if body.webhook_url is not None:
        ref = parse_webhook_url(body.webhook_url)
        webhook = check_webhook(ref)
        changes.update(
            webhook_id=ref.webhook_id,
            webhook_token=ref.token,
            guild_id=webhook.guild_id,
            discord_channel_id=webhook.channel_id,
            is_active=True,
            last_error=None,
        )
    elif body.is_active and not current["is_active"]:
        check_webhook(_stored_ref(user, channel_id))
        changes.update(is_active=True, last_error=None)
    if body.is_active is not None and "is_active" not in changes:
        changes["is_active"] = body.is_active
    if body.is_active is False:
        changes["is_active"] = False
    for name in ("name", "is_global_default", "default_for"):
        value = getattr(body, name)
        if value is not None:
            changes[name] = list(value) if name == "default_for" else value
    try:
        with user_tx(user) as conn:
            _load(conn, channel_id, lock=True)
            if changes.get("is_global_default"):
                _clear_global_default(conn, channel_id)
            assignments = ", ".join(f"{column} = %s" for column in changes)
            row = conn.execute(
                f"update discord_channels set {assignments}, updated_at = now()"  # noqa: S608 - known columns
                f" where id = %s returning {_CHANNEL_COLUMNS}",
                (*changes.values(), channel_id),
            ).fetchone()
    except psycopg.errors.UniqueViolation as error:
        raise _conflict(error) from None
    assert row is not None
    return channel_view(dict(row))


@bp.delete("/api/discord/channels/<uuid:channel_id>")
@openapi.operation(
    summary="Delete a channel; its unsent deliveries become dead", tag=_TAG, response=None, status=204
)
@requires_user
def delete_channel(channel_id: UUID) -> None:
    with user_tx(current_user()) as conn:
        _load(conn, channel_id, lock=True)
        conn.execute(
            "update alert_deliveries set status = 'dead', last_error = 'channel deleted', updated_at = now()"
            " where channel_id = %s and status in ('pending', 'failed')",
            (channel_id,),
        )
        conn.execute("delete from discord_channels where id = %s", (channel_id,))


@bp.post("/api/discord/channels/<uuid:channel_id>/test")
@openapi.operation(
    summary="Post a grey test embed through the engine", tag=_TAG, response=DeliveryAnswer, status=201,
    errors=(409,),
)
@requires_user
def test_channel(channel_id: UUID) -> DeliveryAnswer:
    user = current_user()
    with user_tx(user) as conn:
        channel = _load(conn, channel_id)
        if not channel["is_active"]:
            raise Conflict(
                f"the channel is inactive ({channel['last_error'] or 'deactivated'}); fix its webhook first",
                field="channel_id",
                code="channel_inactive",
            )
        [delivery_id] = enqueue_deliveries(
            conn, user_id=user.user_id, channel_ids=[channel_id], payload=check_payload(channel["name"])
        )
    dispatch_after_commit([delivery_id])
    with user_tx(user) as conn:
        [delivery] = get_deliveries(conn, [delivery_id])
    return DeliveryAnswer.model_validate({"delivery": delivery})
