"""Massive as the HTTP areas reach it: a request's market data service, and its refusals in our words.

The market routes and a trade loaded without a price (functions/api/trades/quoted.py) both read
Massive through `shared.market_data`; both tell its trouble the same way: 429 → 503 with
Retry-After, 403 → 403 `not_entitled`, 404 → 404, a timeout → 504, no key → 503
`market_data_not_configured`, never an empty 200 and never Massive's text or our key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.web.errors import ApiError, NotFound, ServiceUnavailable
from shared.market_data.cache import CacheBusy
from shared.massive.errors import (
    DeadlineExceeded,
    EntitlementError,
    NotConfigured,
    NotFoundError,
    RateLimitedError,
    UpstreamTimeout,
)

if TYPE_CHECKING:
    from shared.market_data.service import MarketData

# What an admin is told to wait after Massive's 429: its limit takes minutes to clear, and the
# cache answers everyone the same refusal meanwhile.
RATE_LIMITED_RETRY_S = 10


def market_data() -> MarketData:
    """The market data service for this request, with the configured upstream deadline."""
    # Imported here: `requests` and the Massive models load when a request first reads Massive.
    from shared.config import get_settings
    from shared.market_data.service import MarketData, request_client

    deadline = get_settings().market_upstream_deadline_s
    return MarketData(lambda: request_client(deadline), wait_s=deadline)


def upstream_error(error: Exception, what: str) -> ApiError:
    """Massive's refusal told in our words: never its text, never its key."""
    if isinstance(error, NotConfigured):
        return ServiceUnavailable(
            f"market data is not configured here (no MASSIVE_API_KEY); {what} cannot be read",
            code="market_data_not_configured",
        )
    if isinstance(error, RateLimitedError):
        return ServiceUnavailable(
            f"Massive is rate-limiting our plan; {what} will be back shortly",
            code="upstream_rate_limited",
            headers={"Retry-After": str(RATE_LIMITED_RETRY_S)},
        )
    if isinstance(error, EntitlementError):
        return ApiError(f"our Massive plan does not include {what}", status=403, code="not_entitled")
    if isinstance(error, NotFoundError):
        return NotFound(f"Massive has no {what}", code="not_found")
    if isinstance(error, UpstreamTimeout | DeadlineExceeded | CacheBusy):
        return ApiError(f"Massive did not answer in time for {what}", status=504, code="upstream_timeout")
    return ApiError(f"Massive could not give {what} right now", status=502, code="upstream_unavailable")
