"""What can go wrong asking Massive, as exceptions (no HTTP client here: a handler can name them cheaply)."""

from __future__ import annotations


class MassiveError(RuntimeError):
    """Massive could not give us what we asked for; the message says what and why."""


class EntitlementError(MassiveError):
    """401/403: the key is missing, wrong, or its plan does not cover the data."""


class RateLimitedError(MassiveError):
    """429s outlasted the process's rate-limit budget."""


class UnavailableError(MassiveError):
    """5xx or network failures outlasted the retries."""


class UpstreamTimeout(UnavailableError):
    """Massive did not answer in time (connect or read), on every try."""


class NotFoundError(MassiveError):
    """404: Massive has no such ticker or contract."""


class NotConfigured(MassiveError):
    """No MASSIVE_API_KEY here, and no local simulator to ask instead."""


class DeadlineExceeded(MassiveError):
    """The call's total deadline (the run's time, or a request's) came before Massive's answer."""


class TooLargeError(MassiveError):
    """A list or a body past its cap: more pages, rows or bytes than real data has."""
