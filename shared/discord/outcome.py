"""What one webhook execute's answer means for its delivery (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.discord.ratelimit import RateLimitHeaders

# Retries back off 2 s, 4 s, 8 s … up to 15 minutes between attempts.
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 900.0
# When a 429 carries no readable retry_after, wait this long rather than guess low.
DEFAULT_RETRY_AFTER_S = 5.0
ERROR_TEXT_MAX = 300

Kind = Literal["sent", "rate_limited", "retry", "webhook_gone", "rejected"]


class DiscordErrorBody(BaseModel):
    """Discord's JSON error body (`{"message", "code", "retry_after", "global"}`)."""

    model_config = ConfigDict(defer_build=True, extra="ignore", populate_by_name=True)

    message: str = ""
    code: int | None = None
    retry_after: float | None = Field(default=None, ge=0)
    is_global: bool = Field(default=False, alias="global")


class DiscordMessage(BaseModel):
    """The message object `?wait=true` returns; only its id matters here."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    id: str
    channel_id: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The meaning of one attempt's answer."""

    kind: Kind
    status: int | None = None
    message_id: str | None = None
    error: str | None = None
    retry_after_s: float | None = None
    is_global: bool = False
    maybe_posted: bool = False


def _error_body(body: Any) -> DiscordErrorBody:
    try:
        return DiscordErrorBody.model_validate(body if isinstance(body, dict) else {})
    except ValidationError:
        return DiscordErrorBody()


def _short(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_MAX else text[: ERROR_TEXT_MAX - 1] + "…"


def classify_response(status: int, body: Any, headers: RateLimitHeaders) -> Outcome:
    """Sent, rate limited, worth retrying, webhook gone (401/404), or refused for good (other 4xx)."""
    if status in (200, 204):
        message_id = None
        if isinstance(body, dict):
            try:
                message_id = DiscordMessage.model_validate(body).id
            except ValidationError:
                message_id = None
        return Outcome("sent", status=status, message_id=message_id)
    error = _error_body(body)
    described = f"Discord {status}" + (f" (code {error.code})" if error.code else "")
    if error.message:
        described += f": {error.message}"
    if status == 429:
        retry_after = error.retry_after
        if retry_after is None:
            retry_after = headers.retry_after if headers.retry_after is not None else headers.reset_after
        return Outcome(
            "rate_limited",
            status=status,
            error=_short(described),
            retry_after_s=retry_after if retry_after is not None else DEFAULT_RETRY_AFTER_S,
            is_global=error.is_global or headers.is_global,
        )
    if status >= 500 or status == 408:
        return Outcome("retry", status=status, error=_short(described))
    if status in (401, 404):
        reason = "webhook deleted" if status == 404 else "invalid webhook token"
        return Outcome("webhook_gone", status=status, error=_short(f"{reason} ({described})"))
    return Outcome("rejected", status=status, error=_short(described))


def network_failure(error: str, *, maybe_posted: bool) -> Outcome:
    """A request that got no answer; `maybe_posted` when it timed out after being sent."""
    return Outcome("retry", error=_short(error), maybe_posted=maybe_posted)


def backoff_s(attempts: int) -> float:
    """The wait before retry number `attempts` (1-based) after a failure."""
    exponent = max(attempts - 1, 0)
    return min(BACKOFF_BASE_S * (2 ** min(exponent, 20)), BACKOFF_MAX_S)


@dataclass(frozen=True)
class DeliveryUpdate:
    """What to write on a delivery after an attempt (and, for a gone webhook, on its channel)."""

    status: Literal["sent", "failed", "dead"]
    next_attempt_at: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    message_id: str | None = None
    maybe_duplicated: bool = False
    deactivate_channel: str | None = None


def after_attempt(outcome: Outcome, *, attempts: int, now: float, give_up_at: float) -> DeliveryUpdate:
    """The delivery's next state: sent; retried later (failed) until `give_up_at`; or dead."""
    if outcome.kind == "sent":
        return DeliveryUpdate("sent", last_status=outcome.status, message_id=outcome.message_id)
    if outcome.kind == "webhook_gone":
        return DeliveryUpdate(
            "dead", last_status=outcome.status, last_error=outcome.error, deactivate_channel=outcome.error
        )
    if outcome.kind == "rejected":
        return DeliveryUpdate("dead", last_status=outcome.status, last_error=outcome.error)
    wait = outcome.retry_after_s if outcome.kind == "rate_limited" else backoff_s(attempts)
    retry_at = now + (wait or 0.0)
    if retry_at > give_up_at:
        return DeliveryUpdate(
            "dead",
            last_status=outcome.status,
            last_error=f"gave up after 24 h; last error: {outcome.error}",
            maybe_duplicated=outcome.maybe_posted,
        )
    return DeliveryUpdate(
        "failed",
        next_attempt_at=retry_at,
        last_status=outcome.status,
        last_error=outcome.error,
        maybe_duplicated=outcome.maybe_posted,
    )
