"""Rate-limit maths: Discord's documented limits before headers, its headers after, 429s exactly."""

from __future__ import annotations

from shared.discord.ratelimit import (
    DISCORD_POLICY,
    RateLimitHeaders,
    RateState,
    WindowLimit,
    apply_headers,
    apply_retry_after,
    earliest_start,
    earliest_start_all,
    record_start,
    theoretical_max_per_minute,
    webhook_window,
)

MARGIN = DISCORD_POLICY.margin_s


def _after_starts(times: list[float], key: str = "webhook:1") -> RateState:
    state = RateState(key)
    for at in times:
        state = record_start(state, at, DISCORD_POLICY)
    return state


def test_before_any_header_a_webhook_allows_five_requests_per_two_seconds() -> None:
    state = _after_starts([100.0, 100.1, 100.2, 100.3])
    assert earliest_start(state, webhook_window(state, DISCORD_POLICY), MARGIN, 100.4) == 100.4
    state = record_start(state, 100.4, DISCORD_POLICY)
    assert earliest_start(state, webhook_window(state, DISCORD_POLICY), MARGIN, 100.5) == 102.0 + MARGIN


def test_a_channel_allows_thirty_requests_per_minute() -> None:
    channel = _after_starts([100.0 + i * 0.5 for i in range(30)], key="channel:9")
    webhook = RateState("webhook:1")
    assert earliest_start_all(webhook, channel, 0.0, DISCORD_POLICY, 120.0) == 160.0 + MARGIN


def test_the_limit_reported_in_headers_replaces_the_assumed_one() -> None:
    headers = RateLimitHeaders.parse(
        {"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset-After": "1.5"}
    )
    state = apply_headers(_after_starts([100.0]), headers, 100.05)
    assert webhook_window(state, DISCORD_POLICY) == WindowLimit(2, 1.5)
    state = record_start(state, 100.1, DISCORD_POLICY)
    assert earliest_start(state, webhook_window(state, DISCORD_POLICY), MARGIN, 100.2) == 101.5 + MARGIN


def test_an_exhausted_bucket_blocks_until_its_reset() -> None:
    headers = RateLimitHeaders.parse(
        {"x-ratelimit-limit": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset-after": "1.25"}
    )
    state = apply_headers(RateState("webhook:1"), headers, received_at=200.0)
    assert earliest_start(state, webhook_window(state, DISCORD_POLICY), MARGIN, 200.1) == 201.25


def test_a_late_stale_answer_never_unblocks_earlier() -> None:
    blocked = apply_retry_after(RateState("webhook:1"), 3.0, received_at=50.0)
    stale = RateLimitHeaders.parse(
        {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "2"}
    )
    assert apply_headers(blocked, stale, received_at=50.5).blocked_until == 53.0


def test_a_429_is_waited_out_exactly() -> None:
    state = apply_retry_after(RateState("webhook:1"), 2.5, received_at=10.0)
    assert earliest_start(state, webhook_window(state, DISCORD_POLICY), MARGIN, 10.0) == 12.5


def test_a_global_block_holds_every_channel() -> None:
    assert earliest_start_all(RateState("w"), RateState("c"), 42.0, DISCORD_POLICY, 40.0) == 42.0


def test_unreadable_headers_are_ignored() -> None:
    headers = RateLimitHeaders.parse({"X-RateLimit-Limit": "lots", "X-RateLimit-Reset-After": "-3"})
    assert headers.limit is None
    assert headers.reset_after is None


def test_memory_of_starts_is_bounded() -> None:
    state = _after_starts([float(i) for i in range(1000)])
    assert len(state.recent_sends) <= 64


def test_ten_channels_allow_three_hundred_messages_a_minute() -> None:
    assert theoretical_max_per_minute(10) == 300.0


def test_a_reported_limit_above_sixty_four_is_still_enforced() -> None:
    headers = RateLimitHeaders.parse(
        {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset-After": "10"}
    )
    state = apply_headers(RateState("webhook:1"), headers, 100.0)
    for index in range(100):
        state = record_start(state, 100.0 + index * 0.01, DISCORD_POLICY)
    assert len(state.recent_sends) == 100
    window = webhook_window(state, DISCORD_POLICY)
    assert earliest_start(state, window, MARGIN, 101.5) == 110.0 + MARGIN
