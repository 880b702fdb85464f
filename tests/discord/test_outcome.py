"""What Discord's answers mean for a delivery: sent, retried with backoff, or dead."""

from __future__ import annotations

from shared.discord.outcome import after_attempt, backoff_s, classify_response, network_failure
from shared.discord.ratelimit import RateLimitHeaders

NO_HEADERS = RateLimitHeaders()
DAY = 86400.0


def test_a_200_with_a_message_is_sent_with_its_id() -> None:
    outcome = classify_response(200, {"id": "123", "channel_id": "9"}, NO_HEADERS)
    update = after_attempt(outcome, attempts=1, now=0.0, give_up_at=DAY)
    assert (update.status, update.message_id) == ("sent", "123")


def test_a_429_waits_exactly_its_retry_after() -> None:
    outcome = classify_response(429, {"message": "slow", "retry_after": 3.25, "global": False}, NO_HEADERS)
    update = after_attempt(outcome, attempts=1, now=100.0, give_up_at=DAY)
    assert (update.status, update.next_attempt_at) == ("failed", 103.25)


def test_a_429_without_a_body_uses_the_retry_after_header() -> None:
    outcome = classify_response(429, None, RateLimitHeaders(retry_after=7.0))
    assert outcome.retry_after_s == 7.0


def test_a_global_429_is_marked_global() -> None:
    outcome = classify_response(429, {"retry_after": 1.0, "global": True}, NO_HEADERS)
    assert outcome.is_global


def test_server_errors_back_off_exponentially_up_to_fifteen_minutes() -> None:
    outcome = classify_response(503, None, NO_HEADERS)
    waits = [after_attempt(outcome, attempts=n, now=0.0, give_up_at=DAY).next_attempt_at for n in (1, 2, 3)]
    assert waits == [2.0, 4.0, 8.0]
    assert backoff_s(40) == 900.0


def test_retries_stop_after_a_day_and_the_delivery_is_dead() -> None:
    outcome = classify_response(502, None, NO_HEADERS)
    update = after_attempt(outcome, attempts=30, now=DAY - 10, give_up_at=DAY)
    assert update.status == "dead"
    assert update.last_error is not None and "24 h" in update.last_error


def test_a_400_is_dead_at_once_with_discords_message() -> None:
    outcome = classify_response(400, {"message": "Invalid Form Body", "code": 50035}, NO_HEADERS)
    update = after_attempt(outcome, attempts=1, now=0.0, give_up_at=DAY)
    assert update.status == "dead"
    assert update.last_error == "Discord 400 (code 50035): Invalid Form Body"


def test_a_deleted_webhook_kills_the_delivery_and_deactivates_the_channel() -> None:
    outcome = classify_response(404, {"message": "Unknown Webhook", "code": 10015}, NO_HEADERS)
    update = after_attempt(outcome, attempts=1, now=0.0, give_up_at=DAY)
    assert update.status == "dead"
    assert update.deactivate_channel is not None and "webhook deleted" in update.deactivate_channel


def test_a_refused_token_kills_the_delivery_and_deactivates_the_channel() -> None:
    outcome = classify_response(401, {"message": "Invalid Webhook Token", "code": 50027}, NO_HEADERS)
    update = after_attempt(outcome, attempts=1, now=0.0, give_up_at=DAY)
    assert update.deactivate_channel is not None and "invalid webhook token" in update.deactivate_channel


def test_a_timeout_after_sending_is_retried_and_recorded_as_a_possible_duplicate() -> None:
    outcome = network_failure("timed out", maybe_posted=True)
    update = after_attempt(outcome, attempts=1, now=0.0, give_up_at=DAY)
    assert (update.status, update.maybe_duplicated) == ("failed", True)
