"""Rate-limit maths for Discord webhooks: when may the next request start (no I/O).

Every key ('webhook:<id>', 'channel:<discord channel id>') keeps the start times of its recent
requests and what Discord's headers said. A request may start when, for each key:
- no 429 or exhausted bucket blocks it (`blocked_until`, only ever moved later), and
- the sliding window allows it: fewer than `limit` starts in the last `window_s + margin_s`.
Before any header is known a webhook uses Discord's documented 5 per 2 s; once
`X-RateLimit-Limit` is seen it uses that. The per-channel 30 per minute never shows in headers,
so it always applies. Windows are measured on start times read from one clock every sender shares
(the database's, see `shared.delivery.ratelimit_store`); `margin_s` covers the time between that
clock starting a request and Discord's clock counting it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class WindowLimit:
    """At most `limit` requests in any `window_s` seconds."""

    limit: int
    window_s: float


@dataclass(frozen=True)
class RateLimitPolicy:
    """The limits assumed before Discord's headers say otherwise."""

    webhook: WindowLimit = WindowLimit(5, 2.0)
    channel: WindowLimit = WindowLimit(30, 60.0)
    margin_s: float = 0.05


DISCORD_POLICY = RateLimitPolicy()


@dataclass(frozen=True)
class RateState:
    """One key's shared state, as stored in `discord_rate_limits`."""

    key: str
    recent_sends: tuple[float, ...] = ()
    header_limit: int | None = None
    header_window_s: float | None = None
    bucket: str | None = None
    blocked_until: float = 0.0


@dataclass(frozen=True)
class RateLimitHeaders:
    """Discord's X-RateLimit-* response headers, each None when absent or unreadable."""

    limit: int | None = None
    remaining: int | None = None
    reset_after: float | None = None
    bucket: str | None = None
    is_global: bool = False
    scope: str | None = None
    retry_after: float | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders:
        """Read the headers case-insensitively, ignoring values that do not parse."""
        lower = {k.lower(): v for k, v in headers.items()}
        return cls(
            limit=_int(lower.get("x-ratelimit-limit")),
            remaining=_int(lower.get("x-ratelimit-remaining")),
            reset_after=_float(lower.get("x-ratelimit-reset-after")),
            bucket=lower.get("x-ratelimit-bucket") or None,
            is_global=(lower.get("x-ratelimit-global") or "").lower() == "true",
            scope=lower.get("x-ratelimit-scope") or None,
            retry_after=_float(lower.get("retry-after")),
        )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


def webhook_window(state: RateState, policy: RateLimitPolicy) -> WindowLimit:
    """The webhook's window: Discord's reported limit once known, else the policy's."""
    if state.header_limit is None or state.header_limit <= 0:
        return policy.webhook
    return WindowLimit(state.header_limit, state.header_window_s or policy.webhook.window_s)


def earliest_start(state: RateState, window: WindowLimit, margin_s: float, now: float) -> float:
    """The earliest time >= now at which one more request may start for this key."""
    start = max(now, state.blocked_until)
    if window.limit <= 0:
        return start
    sends = sorted(state.recent_sends)
    if len(sends) >= window.limit:
        start = max(start, sends[-window.limit] + window.window_s + margin_s)
    return start


def earliest_start_all(
    webhook: RateState, channel: RateState, global_blocked_until: float, policy: RateLimitPolicy, now: float
) -> float:
    """The earliest start allowed by the webhook, its Discord channel and the global block."""
    return max(
        global_blocked_until,
        earliest_start(webhook, webhook_window(webhook, policy), policy.margin_s, now),
        earliest_start(channel, policy.channel, policy.margin_s, now),
    )


def record_start(state: RateState, at: float, policy: RateLimitPolicy) -> RateState:
    """The state after a request starts at `at` (failed requests count too, as Discord counts them)."""
    horizon = at - max(policy.channel.window_s, policy.webhook.window_s, state.header_window_s or 0) - 1
    kept = [t for t in state.recent_sends if t >= horizon]
    kept.append(at)
    return replace(state, recent_sends=tuple(sorted(kept)[-remembered(state, policy) :]))


def remembered(state: RateState, policy: RateLimitPolicy) -> int:
    """How many start times a key must keep: the largest limit that can apply to it, whatever it is."""
    return max(policy.webhook.limit, policy.channel.limit, state.header_limit or 0, 1)


def apply_headers(state: RateState, headers: RateLimitHeaders, received_at: float) -> RateState:
    """The state after a response with these headers arrived at `received_at`.

    A bucket at 0 blocks until its reset; a first request of a fresh window (remaining =
    limit - 1) tells the window's length. Blocks only move later, so a late, stale response can
    never let a request out early.
    """
    limit = headers.limit if headers.limit and headers.limit > 0 else state.header_limit
    window = state.header_window_s
    if (
        headers.limit is not None
        and headers.remaining is not None
        and headers.reset_after is not None
        and headers.remaining == headers.limit - 1
    ):
        window = max(window or 0.0, headers.reset_after)
    blocked = state.blocked_until
    if headers.remaining == 0 and headers.reset_after is not None:
        blocked = max(blocked, received_at + headers.reset_after)
    return replace(
        state,
        header_limit=limit,
        header_window_s=window,
        bucket=headers.bucket or state.bucket,
        blocked_until=blocked,
    )


def apply_retry_after(state: RateState, retry_after_s: float, received_at: float) -> RateState:
    """The state after a 429: nothing starts before `received_at + retry_after_s`."""
    return replace(state, blocked_until=max(state.blocked_until, received_at + max(retry_after_s, 0.0)))


def theoretical_max_per_minute(channels: int, policy: RateLimitPolicy = DISCORD_POLICY) -> float:
    """The most messages a minute `channels` webhooks (one per Discord channel) may post."""
    per_channel = min(
        policy.webhook.limit * 60.0 / policy.webhook.window_s,
        policy.channel.limit * 60.0 / policy.channel.window_s,
    )
    return channels * per_channel
